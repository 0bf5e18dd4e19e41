//! Fuzzes the config loader end to end: YAML, interpolation, decoding, rendering, serializing.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// One fixed project directory for every input, so `build:` contexts and `env_file`s resolve
/// the same way each run and the fuzzer's coverage is reproducible.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join("devenv-fuzz");
    // An error here only means fewer paths exist; the loader must cope with that too.
    let _ = std::fs::create_dir_all(&dir);
    dir
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = DIR.as_path();
    match devenv::config::load_text(text, dir) {
        Err(e) => {
            let rendered = e.render(dir);
            // Every error the CLI shows starts like this; anything else is a rendering bug.
            assert!(
                rendered.starts_with("error: "),
                "rendered error does not start with `error: `:\n{rendered}"
            );
        }
        Ok(l) => {
            for w in &l.warnings {
                let rendered = l.sources.render(w, dir);
                assert!(
                    rendered.starts_with("warning: "),
                    "rendered warning does not start with `warning: `:\n{rendered}"
                );
            }
            // `devenv config` prints these; a project that loaded must always serialize.
            serde_json::to_string(&l.project).expect("a loaded project serializes to JSON");
            serde_saphyr::to_string(&l.project).expect("a loaded project serializes to YAML");
        }
    }
});
