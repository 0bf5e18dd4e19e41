//! Edge cases of `devenv watch` that users' editors and tools produce: renamed, deleted and
//! deep directories, symlinks, .gitignore (also edited while watching), rules naming ignored
//! paths, odd and large files synced, rule `ignore:` and `debounce:`, the NDJSON events, one-off
//! containers of `run`, and `devenv watch SERVICE`.
//!
//! Tests that only observe *whether* a rule fires watch a stack that is not up: the rule's
//! action then fails ("not running"), which is reported and changes nothing, while the `change`
//! event it follows is the observation.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::watch::{
    IDLE, Project, Setup, Watcher, change_with, in_container, kind, paths_of, stdout_of,
};
use common::{TEST_IMAGE, docker_ok};

/// How long any single expected event may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// How long nothing may happen for the events so far to count as final: several times every
/// debounce below (but the 1.5 s one, whose test waits on its own) and longer than any action.
const SETTLE: Duration = Duration::from_millis(2500);

/// The harness settings of this suite.
const SETUP: Setup = Setup {
    prefix: "wedge",
    patience: PATIENCE,
    settle: SETTLE,
};

/// The busybox service `app`, nothing mounted.
fn app() -> String {
    format!("  app:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n")
}

/// One rule on `paths` (a YAML flow list body) whose action is a harmless exec in `app`.
fn exec_rule(paths: &str) -> String {
    format!(
        "  - paths: [{paths}]\n    actions:\n      - exec: {{service: app, command: [\"true\"]}}"
    )
}

// ---------------------------------------------------------------------------------------------
// Directories that move, vanish and appear.

#[test]
fn a_renamed_directory_is_watched_under_its_new_name() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""src/**""#));
    p.write("src/a/x.txt", "1\n");
    p.write("src/a/deep/y.txt", "1\n");
    let mut w = p.watch(&[]);

    std::fs::rename(p.path("src/a"), p.path("src/b")).expect("mv src/a src/b");
    let moved = w.wait_for("the rename", change_with(&p.abs("src/b")));
    let paths = paths_of(&moved);
    assert!(paths.contains(&p.abs("src/a")), "{moved}");
    let from = w.mark();

    // Edits inside the renamed tree, at both depths, afterwards.
    w.write_seen(&p, "src/b/x.txt", "2\n", "an edit in the renamed dir");
    w.write_seen(
        &p,
        "src/b/deep/y.txt",
        "2\n",
        "an edit deep in the renamed dir",
    );
    w.write_seen(
        &p,
        "src/b/deep/new.txt",
        "new\n",
        "a new file deep in the renamed dir",
    );
    w.settle();
    // Nothing is ever reported under the old name once it is gone.
    let stale: Vec<String> = w
        .changed_since(from)
        .into_iter()
        .filter(|c| c.starts_with(&p.abs("src/a")))
        .collect();
    assert!(stale.is_empty(), "stale paths {stale:?}; {:#?}", w.seen);

    // The old name re-created as a new directory is watched too.
    w.write_seen(
        &p,
        "src/a/z.txt",
        "z\n",
        "a file in the re-created old name",
    );
    w.mark();
    w.write_seen(
        &p,
        "src/a/z.txt",
        "zz\n",
        "an edit in the re-created old name",
    );
    w.assert_alive();
}

#[test]
fn a_directory_moved_out_of_the_project_is_no_longer_watched() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""**""#));
    p.write("src/a/x.txt", "1\n");
    let outside = tempfile::tempdir().expect("outside dir");
    let mut w = p.watch(&[]);

    let away = outside.path().join("a");
    std::fs::rename(p.path("src/a"), &away).expect("mv src/a out of the project");
    w.wait_for("the move away", change_with(&p.abs("src/a")));
    let from = w.mark();
    // Edits in the moved-away tree are not the project's: nothing fires, under no name.
    std::fs::write(away.join("x.txt"), "2\n").expect("edit outside");
    std::fs::write(away.join("new.txt"), "2\n").expect("create outside");
    w.settle();
    assert!(
        w.changed_since(from).is_empty(),
        "edits outside the project fired: {:#?}",
        w.seen
    );
    // The watch is still fine for the project itself.
    w.write_seen(&p, "src/after.txt", "1\n", "an edit in the project");
}

#[test]
fn a_directory_deleted_and_recreated_with_the_same_name_is_watched_again() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""src/**""#));
    p.write("src/a/x.txt", "1\n");
    let mut w = p.watch(&[]);

    std::fs::remove_dir_all(p.path("src/a")).expect("rm -r src/a");
    w.wait_for("the delete", change_with(&p.abs("src/a/x.txt")));
    w.mark();
    p.mkdir("src/a");
    w.wait_for("the re-created dir", change_with(&p.abs("src/a")));
    w.mark();
    w.write_seen(&p, "src/a/x.txt", "2\n", "a file in the re-created dir");
    w.mark();
    w.write_seen(&p, "src/a/x.txt", "3\n", "an edit in the re-created dir");

    // Deleted and re-created at once, faster than any debounce.
    w.mark();
    std::fs::remove_dir_all(p.path("src/a")).expect("rm -r src/a again");
    w.write_seen(&p, "src/a/sub/y.txt", "1\n", "the quick re-create");
    w.mark();
    w.write_seen(
        &p,
        "src/a/sub/y.txt",
        "2\n",
        "an edit after the quick re-create",
    );
    w.assert_alive();
}

#[test]
fn a_deep_tree_made_at_once_is_watched_to_the_bottom() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""**""#));
    let mut w = p.watch(&[]);

    // mkdir -p a/b/c/d/e && touch a/b/c/d/e/f, as fast as it goes.
    p.write("a/b/c/d/e/f", "");
    let first = w.wait_for("the new tree", change_with(&p.abs("a/b/c/d/e/f")));
    let paths = paths_of(&first);
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "paths are sorted and distinct: {first}");
    w.mark();

    w.write_seen(&p, "a/b/c/d/e/f", "edited\n", "an edit at the bottom");
    w.write_seen(&p, "a/b/c/g", "new\n", "a new file midway");
    w.write_seen(&p, "a/b/c/d/e/h/i/j", "deeper\n", "a deeper tree");
    w.mark();
    w.write_seen(
        &p,
        "a/b/c/d/e/h/i/j",
        "again\n",
        "an edit in the deeper tree",
    );
    w.assert_alive();
}

#[test]
fn a_tree_moved_in_from_outside_fires_for_its_files_and_is_watched() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""src/**""#));
    p.mkdir("src");
    let outside = tempfile::tempdir().expect("outside dir");
    std::fs::create_dir_all(outside.path().join("pkg/lib")).expect("mkdir outside");
    std::fs::write(outside.path().join("pkg/lib/m.js"), "1\n").expect("write outside");
    let mut w = p.watch(&[]);

    std::fs::rename(outside.path().join("pkg"), p.path("src/pkg")).expect("mv in");
    let change = w.wait_for("the moved-in tree", change_with(&p.abs("src/pkg")));
    assert!(
        paths_of(&change).contains(&p.abs("src/pkg/lib/m.js")),
        "the files that came with the tree are listed: {change}"
    );
    w.mark();
    w.write_seen(
        &p,
        "src/pkg/lib/m.js",
        "2\n",
        "an edit in the moved-in tree",
    );
}

// ---------------------------------------------------------------------------------------------
// Symlinks.

#[test]
fn symlinks_fire_as_themselves_and_are_not_followed() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""src/**""#));
    p.write("src/real/a.txt", "1\n");
    p.write("src/cfg.txt", "plain\n");
    p.write("src/other.txt", "other\n");
    let outside = tempfile::tempdir().expect("outside dir");
    std::fs::write(outside.path().join("o.txt"), "1\n").expect("write outside");
    std::os::unix::fs::symlink("real", p.path("src/inside-link")).expect("link inside");
    std::os::unix::fs::symlink(outside.path(), p.path("src/outside-link")).expect("link out");
    let mut w = p.watch(&[]);

    // An edit of a file under a linked directory fires once, under its real path only.
    let from = w.mark();
    w.write_seen(&p, "src/real/a.txt", "2\n", "the edit");
    w.settle();
    let changed = w.changed_since(from);
    assert_eq!(changed, vec![p.abs("src/real/a.txt")], "{:#?}", w.seen);

    // A directory linked from outside is not followed: its files are not the project's.
    let from = w.mark();
    std::fs::write(outside.path().join("o.txt"), "2\n").expect("edit outside");
    w.settle();
    assert!(w.changed_since(from).is_empty(), "{:#?}", w.seen);

    // A file replaced by a symlink (ln -sf other.txt cfg.txt) fires for the file.
    std::fs::remove_file(p.path("src/cfg.txt")).expect("rm cfg.txt");
    std::os::unix::fs::symlink("other.txt", p.path("src/cfg.txt")).expect("ln -s");
    w.wait_for(
        "the file turned symlink",
        change_with(&p.abs("src/cfg.txt")),
    );
    // A new symlink fires too.
    std::os::unix::fs::symlink("real", p.path("src/new-link")).expect("ln -s dir");
    w.wait_for("the new link", change_with(&p.abs("src/new-link")));
    w.assert_alive();
}

#[test]
fn a_file_replaced_by_a_symlink_syncs_as_a_symlink() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    p.write("src/cfg.txt", "plain\n");
    p.write("src/other.txt", "other\n");
    p.up();
    let id = p.container("app");
    let mut w = p.watch(&[]);

    p.write("src/other.txt", "other2\n");
    assert_eq!(w.finished(1)["status"], "ok", "{:#?}", w.seen);
    let from = w.mark();
    std::fs::remove_file(p.path("src/cfg.txt")).expect("rm cfg.txt");
    std::os::unix::fs::symlink("other.txt", p.path("src/cfg.txt")).expect("ln -s");
    let n = w.count("action_finished") + 1;
    let done = w.finished(n);
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    assert!(!w.changed_since(from).is_empty());
    let link = in_container(&id, &["readlink", "/srv/app/cfg.txt"]);
    assert_eq!(stdout_of(&link), "other.txt\n", "{link:?}");
    let cat = in_container(&id, &["cat", "/srv/app/cfg.txt"]);
    assert_eq!(stdout_of(&cat), "other2\n", "{cat:?}");
}

// ---------------------------------------------------------------------------------------------
// Ignores.

#[test]
fn gitignored_paths_do_not_fire_and_gitignore_edits_apply_while_watching() {
    // What a user expects: the .gitignore is the truth at every moment. Dropping a line makes
    // its paths fire from then on; adding one silences them — without restarting the watch.
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""**""#));
    p.write(".gitignore", "generated/\n*.log\n");
    p.write("generated/out.js", "1\n");
    p.write("src/main.js", "1\n");
    let mut w = p.watch(&[]);

    let from = w.mark();
    p.write("generated/out.js", "2\n");
    p.write("generated/new/deep.js", "2\n");
    p.write("src/debug.log", "x\n");
    w.write_seen(&p, "src/main.js", "2\n", "the unignored edit");
    w.settle();
    assert_eq!(
        w.changed_since(from),
        vec![p.abs("src/main.js")],
        "{:#?}",
        w.seen
    );

    // Un-ignore generated/ while watching.
    p.write(".gitignore", "*.log\n");
    w.mark();
    w.write_seen(
        &p,
        "generated/out.js",
        "3\n",
        "an edit in the un-ignored dir",
    );
    w.write_seen(
        &p,
        "generated/new/deep.js",
        "3\n",
        "an edit deep in the un-ignored dir",
    );

    // Ignore src/ while watching.
    p.write(".gitignore", "*.log\nsrc/\n");
    let from = w.mark();
    p.write("src/main.js", "3\n");
    w.write_seen(&p, "generated/out.js", "4\n", "the edit still watched");
    w.settle();
    assert_eq!(
        w.changed_since(from),
        vec![p.abs("generated/out.js")],
        "{:#?}",
        w.seen
    );
    w.assert_alive();
}

#[test]
fn a_rule_naming_an_ignored_directory_fires_for_it() {
    let p = Project::new(
        &SETUP,
        &app(),
        &format!(
            "{}\n{}\n{}",
            exec_rule(r#""node_modules/some-pkg/**""#),
            exec_rule(r#""**""#),
            exec_rule(r#""build/out.txt""#),
        ),
    );
    p.write("node_modules/some-pkg/index.js", "1\n");
    p.write("node_modules/other/index.js", "1\n");
    p.write(".gitignore", "build/\n");
    p.write("build/out.txt", "1\n");
    let mut w = p.watch(&[]);

    let from = w.mark();
    p.write("node_modules/some-pkg/index.js", "2\n");
    let change = w.wait_for(
        "the named package",
        change_with(&p.abs("node_modules/some-pkg/index.js")),
    );
    assert_eq!(change["rule"], 1, "{change}");
    w.write_seen(
        &p,
        "node_modules/some-pkg/lib/deep.js",
        "2\n",
        "a new dir in the named package",
    );
    p.write("build/out.txt", "2\n");
    let change = w.wait_for(
        "the named gitignored file",
        change_with(&p.abs("build/out.txt")),
    );
    assert_eq!(change["rule"], 3, "{change}");
    p.write("node_modules/other/index.js", "2\n");
    p.write("build/else.txt", "2\n");
    w.settle();
    // Rule 2 (`**`) fired for none of them, and no rule for the unnamed ignored files.
    for c in w.since(from, "change") {
        assert_ne!(
            c["rule"], 2,
            "a broad glob fired inside an ignored dir: {c}"
        );
        for path in paths_of(&c) {
            assert!(
                !path.ends_with("other/index.js") && !path.ends_with("else.txt"),
                "{c}"
            );
        }
    }
    w.assert_alive();
}

#[test]
fn public_assets_and_editor_temp_files_never_fire() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""**""#));
    p.write("public/assets/app.js", "1\n");
    p.write("app/x.rb", "1\n");
    let mut w = p.watch(&[]);

    let from = w.mark();
    p.write("public/assets/app.js", "2\n");
    p.write("public/assets/new/chunk.js", "2\n");
    p.write("app/.x.rb.swp", "swap\n");
    p.write("app/x.rb~", "backup\n");
    p.write("app/4913", "");
    p.write("tmp/cache/a", "1\n");
    p.write("log/development.log", "1\n");
    w.write_seen(&p, "app/x.rb", "2\n", "the real edit");
    w.settle();
    let changed = w.changed_since(from);
    assert_eq!(changed, vec![p.abs("app/x.rb")], "{:#?}", w.seen);
}

#[test]
fn a_rules_ignore_globs_keep_it_quiet() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    ignore: ["**/*.test.js", "src/vendor"]
    actions:
      - exec: {service: app, command: ["true"]}"#,
    );
    p.write("src/vendor/lib.js", "1\n");
    let mut w = p.watch(&[]);

    let from = w.mark();
    p.write("src/a.test.js", "1\n");
    p.write("src/deep/b.test.js", "1\n");
    p.write("src/vendor/lib.js", "2\n");
    p.write("src/vendor/new/x.js", "2\n");
    w.write_seen(&p, "src/a.js", "1\n", "the edit not ignored");
    w.settle();
    let changed = w.changed_since(from);
    // The new directory src/deep itself is not ignored, so it may be listed beside a.js.
    let unexpected: Vec<&String> = changed
        .iter()
        .filter(|c| **c != p.abs("src/a.js") && **c != p.abs("src/deep"))
        .collect();
    assert!(unexpected.is_empty(), "ignored paths fired: {unexpected:?}");
}

// ---------------------------------------------------------------------------------------------
// Debounce.

#[test]
fn a_long_debounce_coalesces_a_slow_burst_that_the_default_does_not() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    debounce: 1500ms
    actions:
      - exec: {service: app, command: ["true"]}
  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["true"]}"#,
    );
    p.mkdir("src");
    let mut w = p.watch(&[]);

    // Five saves 200 ms apart: slower than 50 ms, well within 1.5 s.
    for i in 0..5 {
        p.write(&format!("src/f{i}.txt"), "x\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    let slow = w.wait_for("the slow rule", |e| kind(e) == "change" && e["rule"] == 1);
    let want: Vec<String> = (0..5).map(|i| p.abs(&format!("src/f{i}.txt"))).collect();
    assert_eq!(paths_of(&slow), want, "one batch of the whole burst");
    w.settle();
    let rule1: Vec<Value> = w
        .of_kind("change")
        .into_iter()
        .filter(|e| e["rule"] == 1)
        .collect();
    let rule2 = w.count("change") - rule1.len();
    assert_eq!(rule1.len(), 1, "{:#?}", w.seen);
    assert!(
        rule2 >= 2,
        "the 50ms rule should see the pauses: {:#?}",
        w.seen
    );
}

// ---------------------------------------------------------------------------------------------
// Sync.

#[test]
fn sync_copies_odd_names_empty_dirs_quick_recreates_and_large_files() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    p.mkdir("src");
    p.up();
    let id = p.container("app");
    let mut w = p.watch(&[]);
    let mut n = 0;
    let mut synced = |w: &mut Watcher| {
        n += 1;
        let done = w.finished(n);
        assert_eq!(done["status"], "ok", "{done}");
        // Count the later ones too, so the next wait is for a new run.
        w.settle();
        n = w.count("action_finished");
    };

    let odd = "src/my file ü 日本 'q'.txt";
    p.write(odd, "odd\n");
    synced(&mut w);
    let cat = in_container(&id, &["cat", "/srv/app/my file ü 日本 'q'.txt"]);
    assert_eq!(stdout_of(&cat), "odd\n", "{cat:?}");

    p.mkdir("src/empty dir");
    synced(&mut w);
    let test = in_container(&id, &["test", "-d", "/srv/app/empty dir"]);
    assert!(test.status.success(), "the empty directory is synced");

    // Deleted and re-created faster than the debounce: the container ends with the new file.
    p.write("src/quick.txt", "first\n");
    synced(&mut w);
    std::fs::remove_file(p.path("src/quick.txt")).expect("rm quick.txt");
    p.write("src/quick.txt", "second\n");
    synced(&mut w);
    let cat = in_container(&id, &["cat", "/srv/app/quick.txt"]);
    assert_eq!(stdout_of(&cat), "second\n", "{cat:?}");

    // A few MB of bytes that are not text.
    let big: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    p.write("src/big.bin", &big);
    synced(&mut w);
    let md5 = Command::new("md5sum")
        .arg(p.path("src/big.bin"))
        .output()
        .expect("md5sum");
    let local = stdout_of(&md5)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    let remote = in_container(&id, &["md5sum", "/srv/app/big.bin"]);
    let remote = stdout_of(&remote)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    assert!(!local.is_empty());
    assert_eq!(remote, local, "the large file arrives whole");

    // A file deleted from the host goes from the container; a name with spaces too.
    std::fs::remove_file(p.path(odd)).expect("rm odd");
    synced(&mut w);
    let test = in_container(&id, &["test", "-e", "/srv/app/my file ü 日本 'q'.txt"]);
    assert!(!test.status.success(), "the deleted odd file is gone");
    w.assert_alive();
}

#[test]
fn sync_of_a_new_directory_leaves_out_ignored_files() {
    // What a user expects: the files that never fire a rule (node_modules/, *.swp, .git) are
    // not copied either; a host node_modules must never land over the container's.
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    p.mkdir("src");
    p.up();
    let id = p.container("app");
    let outside = tempfile::tempdir().expect("outside dir");
    let pkg = outside.path().join("pkg");
    std::fs::create_dir_all(pkg.join("node_modules/dep")).expect("mkdir");
    std::fs::write(pkg.join("node_modules/dep/index.js"), "dep\n").expect("write");
    std::fs::write(pkg.join(".main.js.swp"), "swap\n").expect("write");
    std::fs::write(pkg.join("main.js"), "main\n").expect("write");
    let mut w = p.watch(&[]);

    std::fs::rename(&pkg, p.path("src/pkg")).expect("mv pkg in");
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    let cat = in_container(&id, &["cat", "/srv/app/pkg/main.js"]);
    assert_eq!(stdout_of(&cat), "main\n", "{cat:?}");
    let ls = in_container(&id, &["ls", "-A", "/srv/app/pkg"]);
    assert_eq!(
        stdout_of(&ls),
        "main.js\n",
        "ignored files were synced: {ls:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Events, one-off containers, `watch SERVICE`.

#[test]
fn json_events_parse_and_carry_their_documented_fields() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo one; echo two; exit 4"]}
  - paths: ["lib/**"]
    actions:
      - sync: {service: app, target: /srv/lib}
  - paths: ["down/**"]
    actions:
      - exec: {service: app, command: ["true"]}"#,
    );
    p.mkdir("src");
    p.mkdir("lib");
    p.mkdir("down");
    p.up();
    let mut w = p.watch(&[]);

    p.write("src/a.js", "1\n");
    w.finished(1);
    p.write("lib/b.rb", "1\n");
    w.finished(2);
    // A stopped service: the exec fails without an exit code, the error is the tail.
    let id = p.container("app");
    docker_ok(&["stop", "-t", "1", &id]);
    p.write("down/c", "1\n");
    w.finished(3);
    w.settle();
    w.assert_alive();

    for c in w.of_kind("change") {
        for path in paths_of(&c) {
            // Documented as absolute paths under the project directory.
            assert!(path.starts_with(&p.abs("")), "{c}");
            assert!(Path::new(&path).is_absolute(), "{c}");
        }
        assert!(
            c["rule"].as_u64().is_some_and(|r| (1..=3).contains(&r)),
            "{c}"
        );
    }
    let f = w.of_kind("action_finished");
    assert_eq!(f.len(), 3, "{:#?}", w.seen);
    for e in &f {
        assert!(e["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
        assert!(e["output_tail"].is_array(), "{e}");
        assert!(e["action"].is_string(), "{e}");
    }
    assert_eq!(f[0]["status"], "failed");
    assert_eq!(f[0]["exit_code"], 4);
    assert_eq!(f[0]["output_tail"], serde_json::json!(["one", "two"]));
    assert_eq!(f[1]["status"], "ok");
    assert_eq!(
        f[1]["exit_code"],
        Value::Null,
        "sync has no exit code: {}",
        f[1]
    );
    assert_eq!(f[1]["action"], "sync to app:/srv/lib");
    assert_eq!(f[2]["status"], "failed");
    assert_eq!(f[2]["exit_code"], Value::Null, "{}", f[2]);
    let tail = f[2]["output_tail"].to_string();
    assert!(tail.contains("not running"), "{}", f[2]);
}

#[test]
fn a_run_action_leaves_no_container_behind() {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["ok/**"]
    actions:
      - run: {service: app, command: ["sh", "-c", "echo from-run"]}
  - paths: ["bad/**"]
    actions:
      - run: {service: app, command: ["sh", "-c", "echo failing; exit 3"]}"#,
    );
    p.mkdir("ok");
    p.mkdir("bad");
    p.up();
    let before = p.containers();
    assert_eq!(before.len(), 1, "{before:?}");
    let mut w = p.watch(&[]);

    p.write("ok/a", "1\n");
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["exit_code"], 0, "{done}");
    assert_eq!(
        done["output_tail"],
        serde_json::json!(["from-run"]),
        "{done}"
    );
    p.write("bad/a", "1\n");
    let done = w.finished(2);
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["exit_code"], 3, "{done}");
    w.settle();
    // The one-off containers are gone once their runs end.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = p.containers();
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {now:?} (before: {before:?})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn watch_service_runs_only_the_rules_concerning_it() {
    let services = format!(
        "{}  web:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n",
        app()
    );
    let p = Project::new(
        &SETUP,
        &services,
        r#"  - paths: ["a/**"]
    actions:
      - exec: {service: app, command: ["true"]}
  - paths: ["b/**"]
    actions:
      - exec: {service: web, command: ["true"]}
  - paths: ["c/**"]
    actions:
      - restart: [app, web]"#,
    );
    p.mkdir("a");
    p.mkdir("b");
    p.mkdir("c");
    let mut w = p.watch(&["web"]);

    p.write("a/x", "1\n");
    p.write("b/x", "1\n");
    p.write("c/x", "1\n");
    w.wait_for("the web rule", change_with(&p.abs("b/x")));
    w.wait_for("the restart rule", change_with(&p.abs("c/x")));
    w.settle();
    assert!(
        !w.changed_since(0).contains(&p.abs("a/x")),
        "a rule of another service ran: {:#?}",
        w.seen
    );
    assert_eq!(w.count("change"), 2, "{:#?}", w.seen);

    // An unknown service is a config error, not an empty watch.
    let out = p
        .devenv(&["watch", "--json", "nosuch"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no service `nosuch`"),
        "{out:?}"
    );
}

#[test]
fn watch_service_reports_rules_by_their_number_in_the_config() {
    // The `rule` field is what a user looks up in dev.yml: under `watch web`, the config's
    // rule 2 must still be reported as rule 2.
    let services = format!(
        "{}  web:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n",
        app()
    );
    let p = Project::new(
        &SETUP,
        &services,
        r#"  - paths: ["a/**"]
    actions:
      - exec: {service: app, command: ["true"]}
  - paths: ["b/**"]
    actions:
      - exec: {service: web, command: ["true"]}"#,
    );
    p.mkdir("b");
    let mut w = p.watch(&["web"]);
    p.write("b/x", "1\n");
    let change = w.wait_for("the web rule", change_with(&p.abs("b/x")));
    assert_eq!(change["rule"], 2, "{change}");
    let started = w.wait_for("its action", |e| kind(e) == "action_started");
    assert_eq!(started["rule"], 2, "{started}");
}

// ---------------------------------------------------------------------------------------------
// More sync: renames and type changes, as `git checkout` and refactoring tools make them.

/// A project whose one rule syncs `src/` to /srv/app in the running `app`; its container id.
fn synced_project() -> (Project, String) {
    let p = Project::new(
        &SETUP,
        &app(),
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    p.mkdir("src");
    p.up();
    let id = p.container("app");
    (p, id)
}

/// Waits for the next run's sync to finish ok, and for things to settle.
fn next_sync_ok(w: &mut Watcher) {
    let n = w.count("action_finished") + 1;
    let done = w.finished(n);
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    let failed: Vec<Value> = w
        .of_kind("action_finished")
        .into_iter()
        .filter(|e| e["status"] != "ok")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// `find /srv/app` in the container, sorted, one path a line.
fn tree_in(id: &str) -> Vec<String> {
    let out = in_container(id, &["find", "/srv/app"]);
    assert!(out.status.success(), "{out:?}");
    let mut lines: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn sync_follows_renamed_files_and_directories() {
    let (p, id) = synced_project();
    let mut w = p.watch(&[]);
    p.write("src/d/x.txt", "x\n");
    p.write("src/f.txt", "f\n");
    next_sync_ok(&mut w);

    std::fs::rename(p.path("src/d"), p.path("src/e")).expect("mv d e");
    next_sync_ok(&mut w);
    std::fs::rename(p.path("src/f.txt"), p.path("src/g.txt")).expect("mv f.txt g.txt");
    next_sync_ok(&mut w);
    assert_eq!(
        tree_in(&id),
        [
            "/srv/app",
            "/srv/app/e",
            "/srv/app/e/x.txt",
            "/srv/app/g.txt"
        ]
    );
    // The renamed directory keeps syncing.
    p.write("src/e/y.txt", "y\n");
    next_sync_ok(&mut w);
    let cat = in_container(&id, &["cat", "/srv/app/e/y.txt"]);
    assert_eq!(stdout_of(&cat), "y\n", "{cat:?}");
}

#[test]
fn sync_handles_a_directory_replaced_by_a_file() {
    let (p, id) = synced_project();
    let mut w = p.watch(&[]);
    p.write("src/x/old.txt", "old\n");
    next_sync_ok(&mut w);

    // What a `git checkout` between branches does: src/x was a directory, now it is a file.
    std::fs::remove_dir_all(p.path("src/x")).expect("rm -r x");
    p.write("src/x", "now a file\n");
    next_sync_ok(&mut w);
    let cat = in_container(&id, &["cat", "/srv/app/x"]);
    assert_eq!(stdout_of(&cat), "now a file\n", "{cat:?}");
}

#[test]
fn sync_handles_a_file_replaced_by_a_directory() {
    let (p, id) = synced_project();
    let mut w = p.watch(&[]);
    p.write("src/x", "a file\n");
    next_sync_ok(&mut w);

    std::fs::remove_file(p.path("src/x")).expect("rm x");
    p.write("src/x/new.txt", "new\n");
    next_sync_ok(&mut w);
    assert_eq!(
        tree_in(&id),
        ["/srv/app", "/srv/app/x", "/srv/app/x/new.txt"]
    );
}

#[test]
fn sync_copies_a_file_whose_name_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let (p, id) = synced_project();
    let mut w = p.watch(&[]);
    let name = std::ffi::OsStr::from_bytes(b"latin1-\xe9t\xe9.txt");
    std::fs::write(p.path("src").join(name), "bytes\n").expect("write non-UTF-8 name");
    let n = w.count("action_finished") + 1;
    let done = w.finished(n);
    assert_eq!(done["status"], "ok", "{done}");
    // printf, not ls: busybox's ls shows unprintable bytes as `?`.
    let ls = in_container(
        &id,
        &[
            "sh",
            "-c",
            r#"for f in /srv/app/*; do printf '%s\n' "${f##*/}"; done"#,
        ],
    );
    assert_eq!(ls.stdout, b"latin1-\xe9t\xe9.txt\n", "{ls:?}");
}

#[test]
fn a_gitignore_created_while_watching_applies_at_once() {
    let p = Project::new(&SETUP, &app(), &exec_rule(r#""**""#));
    p.write("gen/a.js", "1\n");
    p.write("pkg/sub/b.js", "1\n");
    let mut w = p.watch(&[]);

    p.write(".gitignore", "gen/\n");
    p.write("pkg/.gitignore", "sub/\n");
    let from = w.mark();
    p.write("gen/a.js", "2\n");
    p.write("pkg/sub/b.js", "2\n");
    w.write_seen(&p, "src/c.js", "1\n", "the edit not ignored");
    w.settle();
    let changed = w.changed_since(from);
    let unexpected: Vec<&String> = changed
        .iter()
        .filter(|c| **c != p.abs("src/c.js") && **c != p.abs("src"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "newly ignored paths fired: {unexpected:?}"
    );
}
