// Entry point of the demo's bundle (built by bin/build-assets into public/assets/).
import { GREETING } from "./greeting.js";

function showGreeting() {
  const el = document.getElementById("greeting");
  if (el) el.textContent = GREETING;
}

async function refreshCount() {
  const res = await fetch("/jobs", { headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const { processed } = await res.json();
  const el = document.getElementById("processed-count");
  if (el) el.textContent = String(processed);
}

// Enqueue without leaving the page, then poll until sidekiq has written the row.
function wireForm() {
  const form = document.getElementById("enqueue");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await fetch("/jobs", {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(new FormData(form)),
    });
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await refreshCount();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  showGreeting();
  wireForm();
});
