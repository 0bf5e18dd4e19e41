// The text the page shows once the bundle runs; tests edit it to see a rebuild reach the browser.
export const GREETING = "Hello from app/javascript/greeting.js";
