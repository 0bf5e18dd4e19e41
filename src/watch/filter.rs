//! Classifies a path: ignored or not (devenv's defaults, .gitignore, .dockerignore), and which
//! watch rules it fires.
//!
//! A path is *ignored* when it, or any directory above it, is matched by the default ignores,
//! the project's `.dockerignore`, or the `.gitignore` files (plus git's excludes) that apply to
//! it. Ignored paths fire only rules that name them *explicitly*: a rule glob whose literal
//! leading directories reach at least as deep as the ignored directory (`tmp/restart.txt`,
//! `node_modules/.yarn-integrity`), never a broad one such as `**/*.js`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::error::WatchError;
use crate::config::model::WatchRule;

/// Ignored in every project, in gitignore syntax: VCS data, Rails scratch and log
/// directories, installed node packages, the node build's output (it would re-trigger the
/// build that wrote it), and editors' temporary, swap and backup files.
pub const DEFAULT_IGNORES: &[&str] = &[
    ".git",
    "tmp/",
    "log/",
    "node_modules/",
    "/public/assets/",
    "*.swp",
    "*.swx",
    "*.swo",
    "*~",
    "4913",
    ".#*",
    "\\#*#",
    "*.tmp",
    "*___jb_tmp___",
    "*___jb_old___",
];

/// Both halves of the classification, cheap to clone into walker threads.
#[derive(Clone)]
pub struct Filter {
    pub ignores: Arc<Ignores>,
    pub rules: Arc<Rules>,
}

impl Filter {
    pub fn root(&self) -> &Path {
        &self.ignores.root
    }

    /// The rules `path` fires, in rule order. `is_dir` is `None` for a path that no longer
    /// exists.
    pub fn rules_for(&self, path: &Path, is_dir: Option<bool>) -> Vec<usize> {
        let Ok(rel) = path.strip_prefix(&self.ignores.root) else {
            return Vec::new();
        };
        let ignored = self.ignores.ignored_depth(path, is_dir);
        self.rules.matching(rel, ignored)
    }

    /// Whether directory `path` gets an inotify watch.
    pub fn should_watch(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.ignores.root) else {
            return false;
        };
        self.rules
            .reaches(rel, self.ignores.ignored_depth(path, Some(true)))
    }
}

/// The ignore side: fixed matchers plus one per directory holding a `.gitignore`.
pub struct Ignores {
    root: PathBuf,
    /// Highest directory whose `.gitignore` applies: the git repository's top when the project
    /// lives inside one, else the project directory.
    top: PathBuf,
    defaults: Gitignore,
    dockerignore: Gitignore,
    /// Global excludes and `.git/info/exclude`, weaker than any `.gitignore`.
    excludes: Vec<Gitignore>,
    gitignores: RwLock<GitStack>,
}

/// The `.gitignore` files found so far, by directory.
#[derive(Default)]
struct GitStack {
    by_dir: HashMap<PathBuf, Arc<Gitignore>>,
    /// The same, deepest directory first: most projects have a handful, and scanning them is
    /// cheaper than hashing every ancestor of every path.
    deepest_first: Vec<(PathBuf, Arc<Gitignore>)>,
}

/// Up to this many `.gitignore` files, a linear scan beats hashing ancestors.
const LINEAR_SCAN_MAX: usize = 32;

impl GitStack {
    fn set(&mut self, dir: &Path, gi: Option<Gitignore>) {
        match gi {
            Some(gi) => {
                self.by_dir.insert(dir.to_path_buf(), Arc::new(gi));
            }
            None => {
                if self.by_dir.remove(dir).is_none() {
                    return;
                }
            }
        }
        self.deepest_first = self
            .by_dir
            .iter()
            .map(|(d, g)| (d.clone(), Arc::clone(g)))
            .collect();
        self.deepest_first
            .sort_by_key(|(d, _)| std::cmp::Reverse(d.as_os_str().len()));
    }

    /// The nearest `.gitignore` that has an opinion on `path` decides.
    fn decide(&self, path: &Path, is_dir: bool, top: &Path) -> Option<bool> {
        let verdict = |gi: &Gitignore| {
            let m = gi.matched(path, is_dir);
            if m.is_ignore() {
                Some(true)
            } else if m.is_whitelist() {
                Some(false)
            } else {
                None
            }
        };
        if self.deepest_first.len() <= LINEAR_SCAN_MAX {
            return self
                .deepest_first
                .iter()
                .filter(|(dir, _)| is_strictly_under(path, dir))
                .find_map(|(_, gi)| verdict(gi));
        }
        for dir in path.ancestors().skip(1) {
            if let Some(decided) = self.by_dir.get(dir).and_then(|gi| verdict(gi)) {
                return Some(decided);
            }
            if dir == top {
                break;
            }
        }
        None
    }
}

/// `path` lies below `dir`, compared as bytes (both absolute and normalized).
fn is_strictly_under(path: &Path, dir: &Path) -> bool {
    let p = path.as_os_str().as_encoded_bytes();
    let d = dir.as_os_str().as_encoded_bytes();
    p.len() > d.len() && p.starts_with(d) && (d.ends_with(b"/") || p.get(d.len()) == Some(&b'/'))
}

impl Ignores {
    /// Loads everything that applies at the project's root; nested `.gitignore` files are
    /// added by [`Ignores::load_gitignore`] as the walk reaches their directories. Returns
    /// warnings for unreadable or malformed ignore files.
    pub fn load(root: &Path) -> (Ignores, Vec<String>) {
        let mut warnings = Vec::new();

        let mut builder = GitignoreBuilder::new(root);
        for line in DEFAULT_IGNORES {
            if let Err(e) = builder.add_line(None, line) {
                warnings.push(format!("devenv's default ignore `{line}` is invalid: {e}"));
            }
        }
        let defaults = builder.build().unwrap_or_else(|e| {
            warnings.push(format!("devenv's default ignores are invalid: {e}"));
            Gitignore::empty()
        });

        let dockerignore = load_dockerignore(root, &mut warnings);

        let repo = root
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .map(Path::to_path_buf);
        let top = repo.clone().unwrap_or_else(|| root.to_path_buf());

        let mut excludes = Vec::new();
        if let Some(repo) = &repo {
            let info_exclude = repo.join(".git/info/exclude");
            if info_exclude.is_file() {
                // Its patterns are relative to the repository, not to `.git/info`.
                let mut b = GitignoreBuilder::new(repo);
                if let Some(e) = b.add(&info_exclude) {
                    warnings.push(format!("in `{}`: {e}", info_exclude.display()));
                }
                match b.build() {
                    Ok(gi) => excludes.push(gi),
                    Err(e) => warnings.push(format!("in `{}`: {e}", info_exclude.display())),
                }
            }
            let (gi, err) = GitignoreBuilder::new(repo).build_global();
            if let Some(e) = err {
                warnings.push(format!("in git's global excludes file: {e}"));
            }
            excludes.push(gi);
        }

        let ignores = Ignores {
            root: root.to_path_buf(),
            top: top.clone(),
            defaults,
            dockerignore,
            excludes,
            gitignores: RwLock::new(GitStack::default()),
        };
        // A project inside a repository also obeys the .gitignore files above it.
        let above: Vec<&Path> = root
            .ancestors()
            .take_while(|d| d.starts_with(&top))
            .collect();
        for dir in above.into_iter().rev() {
            warnings.extend(ignores.load_gitignore(dir));
        }
        (ignores, warnings)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads `dir/.gitignore` if there is one, replacing what was known for `dir`.
    pub fn load_gitignore(&self, dir: &Path) -> Option<String> {
        let file = dir.join(".gitignore");
        if !file.is_file() {
            let known = self.read_stack().by_dir.contains_key(dir);
            if known {
                self.write_stack().set(dir, None);
            }
            return None;
        }
        let (gi, err) = Gitignore::new(&file);
        self.write_stack().set(dir, Some(gi));
        err.map(|e| format!("in `{}`: {e}", file.display()))
    }

    fn read_stack(&self) -> std::sync::RwLockReadGuard<'_, GitStack> {
        // Only plain data behind the lock: usable even after a panic elsewhere.
        self.gitignores.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_stack(&self) -> std::sync::RwLockWriteGuard<'_, GitStack> {
        self.gitignores.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `path` itself is ignored, assuming every directory above it is not.
    /// `is_dir: None` (the path is gone) counts as ignored if it would be either way.
    pub fn entry_ignored(&self, path: &Path, is_dir: Option<bool>) -> bool {
        match is_dir {
            Some(d) => self.entry_ignored_as(path, d),
            None => self.entry_ignored_as(path, false) || self.entry_ignored_as(path, true),
        }
    }

    fn entry_ignored_as(&self, path: &Path, is_dir: bool) -> bool {
        if self.defaults.matched(path, is_dir).is_ignore()
            || self.dockerignore.matched(path, is_dir).is_ignore()
        {
            return true;
        }
        // A whitelist (`!pattern`) in a nearer .gitignore overrides the files above it.
        if let Some(decided) = self.read_stack().decide(path, is_dir, &self.top) {
            return decided;
        }
        for gi in &self.excludes {
            let m = gi.matched(path, is_dir);
            if m.is_ignore() {
                return true;
            }
            if m.is_whitelist() {
                return false;
            }
        }
        false
    }

    /// How many components deep the first ignored prefix of `path` is (`node_modules/a/b.js`
    /// → 1), or `None` when nothing on the way is ignored.
    pub fn ignored_depth(&self, path: &Path, is_dir: Option<bool>) -> Option<usize> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let depth = rel.components().count();
        let mut cur = self.root.clone();
        for (i, comp) in rel.components().enumerate() {
            cur.push(comp);
            let last = i + 1 == depth;
            if self.entry_ignored(&cur, if last { is_dir } else { Some(true) }) {
                return Some(i + 1);
            }
        }
        None
    }
}

/// `.dockerignore` patterns are anchored at the context root and use gitignore-like globs;
/// anchoring each one with `/` gives the same meaning in gitignore syntax.
fn load_dockerignore(root: &Path, warnings: &mut Vec<String>) -> Gitignore {
    let file = root.join(".dockerignore");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Gitignore::empty();
    };
    let mut builder = GitignoreBuilder::new(root);
    for line in text.lines() {
        if let Some(pattern) = dockerignore_to_gitignore(line)
            && let Err(e) = builder.add_line(Some(file.clone()), &pattern)
        {
            warnings.push(format!("in `{}`: {e}", file.display()));
        }
    }
    builder.build().unwrap_or_else(|e| {
        warnings.push(format!("in `{}`: {e}", file.display()));
        Gitignore::empty()
    })
}

/// One `.dockerignore` line as an anchored gitignore line, or `None` for blanks and comments.
pub fn dockerignore_to_gitignore(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (negate, pattern) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let mut parts = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{}/{}",
        if negate { "!" } else { "" },
        parts.join("/")
    ))
}

/// The rule side: one glob set per rule, with each glob's literal depth.
#[derive(Debug)]
pub struct Rules {
    rules: Vec<RuleMatcher>,
    /// Literal leading directories of every glob, with their depth in components.
    roots: Vec<PathBuf>,
}

#[derive(Debug)]
struct RuleMatcher {
    globs: GlobSet,
    /// For each glob in `globs`: how many leading components are literal.
    literal_depth: Vec<usize>,
    ignore: GlobSet,
}

impl Rules {
    /// Compiles the rules' globs. `root` is the canonical project directory, `given` the one
    /// the caller named (absolute globs may start with either).
    pub fn compile(root: &Path, given: &Path, rules: &[WatchRule]) -> Result<Rules, WatchError> {
        let mut matchers = Vec::with_capacity(rules.len());
        let mut roots = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let number = i + 1;
            let mut globs = GlobSetBuilder::new();
            let mut literal_depth = Vec::new();
            for raw in &rule.paths {
                let glob = normalize(root, given, number, raw)?;
                let (prefix, depth) = literal_prefix(&glob);
                roots.push(prefix);
                for pattern in with_descendants(&glob) {
                    globs.add(build_glob(number, raw, &pattern)?);
                    literal_depth.push(depth);
                }
            }
            let mut ignore = GlobSetBuilder::new();
            for raw in &rule.ignore {
                let glob = normalize(root, given, number, raw)?;
                for pattern in with_descendants(&glob) {
                    ignore.add(build_glob(number, raw, &pattern)?);
                }
            }
            matchers.push(RuleMatcher {
                globs: build_set(number, &rule.paths, globs)?,
                literal_depth,
                ignore: build_set(number, &rule.ignore, ignore)?,
            });
        }
        roots.sort();
        roots.dedup();
        Ok(Rules {
            rules: matchers,
            roots,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules matching project-relative `rel`, whose first ignored prefix is `ignored` deep.
    pub fn matching(&self, rel: &Path, ignored: Option<usize>) -> Vec<usize> {
        let mut hits = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let fires = match ignored {
                None => rule.globs.is_match(rel),
                Some(depth) => rule
                    .globs
                    .matches(rel)
                    .into_iter()
                    .any(|g| rule.literal_depth.get(g).is_some_and(|&d| d >= depth)),
            };
            if fires && !rule.ignore.is_match(rel) {
                hits.push(i);
            }
        }
        hits
    }

    /// Whether directory `rel` (first ignored prefix `ignored` deep) is to be watched: always
    /// when not ignored; when ignored, only if it lies on the way to, or inside, a directory
    /// a rule names explicitly.
    pub fn reaches(&self, rel: &Path, ignored: Option<usize>) -> bool {
        let Some(depth) = ignored else {
            return true;
        };
        self.roots
            .iter()
            .any(|r| r.components().count() >= depth && (r.starts_with(rel) || rel.starts_with(r)))
    }
}

/// A glob as written in a rule, made relative to the project directory and checked.
fn normalize(root: &Path, given: &Path, rule: usize, raw: &str) -> Result<String, WatchError> {
    let outside = || WatchError::OutsideProject {
        rule,
        glob: raw.to_owned(),
        root: given.to_path_buf(),
    };
    let trimmed = raw.trim();
    let relative = if trimmed.starts_with('/') {
        let p = Path::new(trimmed);
        let rel = p
            .strip_prefix(root)
            .or_else(|_| p.strip_prefix(given))
            .map_err(|_| outside())?;
        rel.to_str().ok_or_else(outside)?.to_owned()
    } else {
        trimmed.to_owned()
    };
    let mut parts = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(outside()),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Ok("**".to_owned());
    }
    Ok(parts.join("/"))
}

/// A glob also covers everything below what it matches: `app` means the whole directory.
fn with_descendants(glob: &str) -> Vec<String> {
    if glob == "**" || glob.ends_with("/**") {
        vec![glob.to_owned()]
    } else {
        vec![glob.to_owned(), format!("{glob}/**")]
    }
}

/// The leading components without glob syntax, and how many there are.
fn literal_prefix(glob: &str) -> (PathBuf, usize) {
    let literal: Vec<&str> = glob
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[', ']', '{', '}', '\\']))
        .collect();
    (literal.iter().collect(), literal.len())
}

fn build_glob(rule: usize, raw: &str, pattern: &str) -> Result<globset::Glob, WatchError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| WatchError::Glob {
            rule,
            glob: raw.to_owned(),
            source,
        })
}

fn build_set(rule: usize, raws: &[String], b: GlobSetBuilder) -> Result<GlobSet, WatchError> {
    b.build().map_err(|source| WatchError::Glob {
        rule,
        glob: raws.join(", "),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::DEFAULT_DEBOUNCE;

    fn rule(paths: &[&str], ignore: &[&str]) -> WatchRule {
        WatchRule {
            paths: paths.iter().map(|s| s.to_string()).collect(),
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
            debounce: DEFAULT_DEBOUNCE,
            actions: vec![],
            initial_sync: false,
        }
    }

    fn rules(list: &[WatchRule]) -> Rules {
        let root = Path::new("/p");
        match Rules::compile(root, root, list) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_default_ignores_all_compile() {
        let mut b = GitignoreBuilder::new("/p");
        for line in DEFAULT_IGNORES {
            assert!(b.add_line(None, line).is_ok(), "{line}");
        }
        assert!(b.build().is_ok());
    }

    #[test]
    fn default_ignores_cover_build_output_vcs_and_editor_files() {
        let dir = std::env::temp_dir().join(format!("devenv-filter-{}", std::process::id()));
        let (ig, warnings) = Ignores::load(&dir);
        assert!(warnings.is_empty(), "{warnings:?}");
        let at = |rel: &str| dir.join(rel);
        for (rel, is_dir) in [
            (".git", true),
            ("node_modules", true),
            ("web/node_modules", true),
            ("tmp", true),
            ("log", true),
            ("public/assets", true),
            ("app/.user.rb.swp", false),
            ("app/user.rb~", false),
            ("app/4913", false),
            ("app/.#user.rb", false),
            ("app/#user.rb#", false),
            ("app/user.rb.tmp", false),
            ("app/user.rb___jb_tmp___", false),
        ] {
            assert!(ig.entry_ignored(&at(rel), Some(is_dir)), "{rel}");
        }
        for rel in ["app", "public", "public/packs", "app/assets", "Gemfile"] {
            assert!(ig.ignored_depth(&at(rel), None).is_none(), "{rel}");
        }
        assert_eq!(
            ig.ignored_depth(&at("node_modules/a/b.js"), Some(false)),
            Some(1)
        );
        assert_eq!(
            ig.ignored_depth(&at("public/assets/app.js"), Some(false)),
            Some(2)
        );
    }

    #[test]
    fn the_nearest_gitignore_decides_with_few_or_many_files() {
        let dir = std::env::temp_dir().join(format!("devenv-gitstack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |rel: &str, text: &str| {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(".gitignore", "*.gen\nsecret/\n");
        write("sub/.gitignore", "!keep.gen\n");
        write("subway/x.gen", "");
        let check = |ig: &Ignores| {
            assert!(ig.entry_ignored(&dir.join("x.gen"), Some(false)));
            assert!(ig.entry_ignored(&dir.join("sub/other.gen"), Some(false)));
            assert!(!ig.entry_ignored(&dir.join("sub/keep.gen"), Some(false)));
            // `sub/` is a prefix of `subway/` as text but not as a path.
            assert!(ig.entry_ignored(&dir.join("subway/keep.gen"), Some(false)));
            assert!(ig.entry_ignored(&dir.join("sub/secret"), Some(true)));
            assert!(!ig.entry_ignored(&dir.join("sub/secret"), Some(false)));
        };
        let (ig, warnings) = Ignores::load(&dir);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(ig.load_gitignore(&dir.join("sub")).is_none());
        check(&ig);
        // Past the linear-scan threshold the lookup hashes ancestors instead.
        for i in 0..=LINEAR_SCAN_MAX {
            write(&format!("d{i}/.gitignore"), "*.x\n");
            assert!(ig.load_gitignore(&dir.join(format!("d{i}"))).is_none());
        }
        assert!(ig.read_stack().deepest_first.len() > LINEAR_SCAN_MAX);
        check(&ig);
        // A removed .gitignore stops applying.
        std::fs::remove_file(dir.join("sub/.gitignore")).expect("rm");
        ig.load_gitignore(&dir.join("sub"));
        assert!(ig.entry_ignored(&dir.join("sub/keep.gen"), Some(false)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dockerignore_lines_become_anchored_gitignore_lines() {
        assert_eq!(dockerignore_to_gitignore("# c"), None);
        assert_eq!(dockerignore_to_gitignore("   "), None);
        assert_eq!(dockerignore_to_gitignore("tmp"), Some("/tmp".into()));
        assert_eq!(
            dockerignore_to_gitignore("/coverage/"),
            Some("/coverage".into())
        );
        assert_eq!(
            dockerignore_to_gitignore("./a//b/../c"),
            Some("/a/c".into())
        );
        assert_eq!(
            dockerignore_to_gitignore("**/*.log"),
            Some("/**/*.log".into())
        );
        assert_eq!(
            dockerignore_to_gitignore("!keep.md"),
            Some("!/keep.md".into())
        );
        assert_eq!(dockerignore_to_gitignore("."), None);
    }

    #[test]
    fn a_glob_covers_what_is_below_it() {
        let r = rules(&[rule(&["app"], &[]), rule(&["config/*.yml"], &[])]);
        assert_eq!(r.matching(Path::new("app/models/user.rb"), None), vec![0]);
        assert_eq!(r.matching(Path::new("config/db.yml"), None), vec![1]);
        // `*` stays within one directory.
        assert!(
            r.matching(Path::new("config/locales/en.yml"), None)
                .is_empty()
        );
    }

    #[test]
    fn a_rules_ignore_globs_subtract() {
        let r = rules(&[rule(&["app/**"], &["app/javascript"])]);
        assert_eq!(r.matching(Path::new("app/models/a.rb"), None), vec![0]);
        assert!(
            r.matching(Path::new("app/javascript/x.js"), None)
                .is_empty()
        );
    }

    #[test]
    fn ignored_paths_fire_only_rules_that_name_them() {
        let r = rules(&[
            rule(&["**/*.js"], &[]),
            rule(&["node_modules/.yarn-integrity"], &[]),
            rule(&["tmp/restart.txt"], &[]),
        ]);
        let js = Path::new("node_modules/x/index.js");
        assert!(r.matching(js, Some(1)).is_empty());
        assert_eq!(r.matching(js, None), vec![0]);
        assert_eq!(
            r.matching(Path::new("node_modules/.yarn-integrity"), Some(1)),
            vec![1]
        );
        assert_eq!(r.matching(Path::new("tmp/restart.txt"), Some(1)), vec![2]);
        assert!(
            r.matching(Path::new("tmp/pids/server.pid"), Some(1))
                .is_empty()
        );
    }

    #[test]
    fn ignored_directories_are_watched_only_on_the_way_to_a_named_path() {
        let r = rules(&[
            rule(&["**"], &[]),
            rule(&["node_modules/some-pkg/dist/*.js"], &[]),
        ]);
        assert!(r.reaches(Path::new("app"), None));
        assert!(r.reaches(Path::new("node_modules"), Some(1)));
        assert!(r.reaches(Path::new("node_modules/some-pkg"), Some(1)));
        assert!(r.reaches(Path::new("node_modules/some-pkg/dist/esm"), Some(1)));
        assert!(!r.reaches(Path::new("node_modules/other"), Some(1)));
        assert!(!r.reaches(Path::new("tmp"), Some(1)));
    }

    #[test]
    fn globs_are_checked_and_kept_inside_the_project() {
        let root = Path::new("/p");
        let bad = Rules::compile(root, root, &[rule(&["app/{a,b"], &[])]);
        assert!(
            matches!(bad, Err(WatchError::Glob { rule: 1, .. })),
            "{bad:?}"
        );
        let out = Rules::compile(root, root, &[rule(&["ok"], &[]), rule(&["../x"], &[])]);
        let Err(e) = out else {
            panic!("expected an error")
        };
        assert_eq!(
            e.to_string(),
            "watch rule 2 names `../x`, which is outside the project directory `/p`"
        );
        assert_eq!(e.exit_code(), 2);
        let abs = rules(&[rule(&["/p/app/*.rb", "./lib/"], &[])]);
        assert_eq!(abs.matching(Path::new("app/a.rb"), None), vec![0]);
        assert_eq!(abs.matching(Path::new("lib/x/y.rb"), None), vec![0]);
    }
}
