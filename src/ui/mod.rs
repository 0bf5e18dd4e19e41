//! Everything devenv writes to the terminal goes through here.

use std::io::Write;

/// Writes command output on stdout. A closed pipe (`devenv config | head`) is not an error.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

pub fn lines(items: impl IntoIterator<Item = String>) {
    let mut text = String::new();
    for item in items {
        text.push_str(&item);
        text.push('\n');
    }
    print(&text);
}

/// A rendered diagnostic or message, on stderr.
pub fn warn(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", text.trim_end());
}
