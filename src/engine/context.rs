//! The build context: a tar of the context directory that honours `.dockerignore`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use super::error::EngineError;

/// The patterns of a `.dockerignore`, matched the way the docker CLI matches them: patterns are
/// relative to the context root, `*` stays within one path component, `**` spans several, a
/// pattern that matches a directory excludes everything below it, and the last matching
/// pattern wins, so `!pattern` re-includes.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    matcher: GlobMatcher,
    exception: bool,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> Result<DockerIgnore, EngineError> {
        let mut rules = Vec::new();
        for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exception = pattern.starts_with('!');
            if exception {
                pattern = pattern[1..].trim();
            }
            let cleaned = clean_pattern(pattern);
            if cleaned.is_empty() {
                continue;
            }
            let matcher = GlobBuilder::new(&cleaned)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| EngineError::Local {
                    op: "read .dockerignore".to_owned(),
                    cause: format!("line {}: bad pattern `{raw}`: {}", index + 1, e.kind()),
                })?
                .compile_matcher();
            rules.push(Rule { matcher, exception });
        }
        Ok(DockerIgnore { rules })
    }

    /// Reads `<dir>/.dockerignore`; none means nothing is excluded.
    pub fn load(dir: &Path) -> Result<DockerIgnore, EngineError> {
        let path = dir.join(".dockerignore");
        match fs::read_to_string(&path) {
            Ok(text) => DockerIgnore::parse(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
            Err(e) => Err(EngineError::local(format!("read {}", path.display()), e)),
        }
    }

    /// Whether a path (relative, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let parents: Vec<&str> = rel.match_indices('/').map(|(i, _)| &rel[..i]).collect();
        let mut excluded = false;
        for rule in &self.rules {
            let hit =
                rule.matcher.is_match(rel) || parents.iter().any(|p| rule.matcher.is_match(p));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }
}

/// `filepath.Clean` of a pattern, made relative to the context root.
fn clean_pattern(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// A packed context, ready to send to the engine.
#[derive(Debug)]
pub struct BuildContext {
    pub tar: Vec<u8>,
    /// The Dockerfile's path inside the tar.
    pub dockerfile: String,
    /// How many files and links went in (directories not counted).
    pub files: usize,
}

impl BuildContext {
    /// Packs `dir` for a build. `dockerfile` is relative to `dir` (default `Dockerfile`); one
    /// outside the context is added under a name of its own, as the docker CLI does. The
    /// Dockerfile and `.dockerignore` are always sent, whatever `.dockerignore` says.
    pub fn pack(dir: &Path, dockerfile: Option<&Path>) -> Result<BuildContext, EngineError> {
        let meta = fs::metadata(dir).map_err(|e| {
            EngineError::local(format!("read the build context {}", dir.display()), e)
        })?;
        if !meta.is_dir() {
            return Err(EngineError::Local {
                op: format!("read the build context {}", dir.display()),
                cause: "it is not a directory".to_owned(),
            });
        }
        let root = dir.canonicalize().map_err(|e| {
            EngineError::local(format!("read the build context {}", dir.display()), e)
        })?;
        let ignore = DockerIgnore::load(&root)?;

        let dockerfile = dockerfile.unwrap_or(Path::new("Dockerfile"));
        let dockerfile_abs = if dockerfile.is_absolute() {
            dockerfile.to_path_buf()
        } else {
            root.join(dockerfile)
        };
        let dockerfile_abs = dockerfile_abs.canonicalize().map_err(|e| {
            EngineError::local(
                format!("read the Dockerfile {}", dockerfile_abs.display()),
                e,
            )
        })?;
        let inside = dockerfile_abs.strip_prefix(&root).ok().and_then(rel_string);

        let mut packer = Packer {
            builder: tar::Builder::new(Vec::new()),
            files: 0,
        };
        let always: Vec<String> = [Some(".dockerignore".to_owned()), inside.clone()]
            .into_iter()
            .flatten()
            .collect();
        packer.walk(&root, &root, &ignore, &always)?;

        let dockerfile_name = match inside {
            Some(rel) => rel,
            None => {
                // Outside the context: send it alongside under a name no context file has.
                let name = ".devenv.Dockerfile".to_owned();
                packer.add_file(&dockerfile_abs, Path::new(&name))?;
                name
            }
        };
        let tar = packer
            .builder
            .into_inner()
            .map_err(|e| EngineError::local("pack the build context", e))?;
        Ok(BuildContext {
            tar,
            dockerfile: dockerfile_name,
            files: packer.files,
        })
    }
}

fn rel_string(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

struct Packer {
    builder: tar::Builder<Vec<u8>>,
    files: usize,
}

impl Packer {
    fn walk(
        &mut self,
        root: &Path,
        dir: &Path,
        ignore: &DockerIgnore,
        always: &[String],
    ) -> Result<(), EngineError> {
        let read_err =
            |path: &Path, e: io::Error| EngineError::local(format!("read {}", path.display()), e);
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| read_err(dir, e))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(dir, e))?;
        entries.sort();
        for path in entries {
            let Ok(rel_path) = path.strip_prefix(root) else {
                continue;
            };
            // `rel` (lossy text) is for matching .dockerignore; the archive gets the name's
            // own bytes, so a file not named in UTF-8 arrives under its name.
            let Some(rel) = rel_string(rel_path) else {
                continue;
            };
            let meta = fs::symlink_metadata(&path).map_err(|e| read_err(&path, e))?;
            let excluded = ignore.is_excluded(&rel) && !always.contains(&rel);
            let kind = meta.file_type();
            if kind.is_dir() {
                if excluded && !ignore.has_exceptions() {
                    continue;
                }
                if !excluded {
                    let mut header = header_for(&meta);
                    self.builder
                        .append_data(&mut header, rel_path.join(""), io::empty())
                        .map_err(|e| EngineError::local("pack the build context", e))?;
                }
                self.walk(root, &path, ignore, always)?;
            } else if excluded {
                continue;
            } else if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(|e| read_err(&path, e))?;
                let mut header = header_for(&meta);
                self.builder
                    .append_link(&mut header, rel_path, &target)
                    .map_err(|e| EngineError::local("pack the build context", e))?;
                self.files += 1;
            } else if kind.is_file() {
                self.add_file(&path, rel_path)?;
            }
            // Sockets, fifos and devices cannot go into a build context; the CLI skips them too.
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path, name: &Path) -> Result<(), EngineError> {
        let file = fs::File::open(path)
            .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?;
        let meta = file
            .metadata()
            .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?;
        let mut header = header_for(&meta);
        self.builder
            .append_data(&mut header, name, file)
            .map_err(|e| EngineError::local(format!("pack {}", path.display()), e))?;
        self.files += 1;
        Ok(())
    }
}

/// Metadata as on disk, but owned by root: files in the image belong to root unless the
/// Dockerfile says otherwise, as with the docker CLI.
pub(super) fn header_for(meta: &fs::Metadata) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    header.set_uid(0);
    header.set_gid(0);
    // Names longer than the field are impossible here; empty names fit.
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ctx: &BuildContext) -> Vec<String> {
        let mut archive = tar::Archive::new(ctx.tar.as_slice());
        let mut names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn patterns_follow_dockerignore_rules() {
        let ignore = DockerIgnore::parse(
            "# comment\n*.log\n/tmp\nnode_modules\n**/*.swp\n!keep.log\ndocs/*\n!docs/README.md\n",
        )
        .expect("parses");
        assert!(ignore.is_excluded("a.log"));
        // `*.log` is anchored at the root, unlike .gitignore.
        assert!(!ignore.is_excluded("sub/a.log"));
        assert!(!ignore.is_excluded("keep.log"));
        assert!(ignore.is_excluded("tmp"));
        assert!(ignore.is_excluded("tmp/cache/x"));
        assert!(ignore.is_excluded("node_modules/pkg/index.js"));
        assert!(ignore.is_excluded("a/b/c.swp"));
        assert!(ignore.is_excluded("docs/guide.md"));
        assert!(!ignore.is_excluded("docs/README.md"));
        assert!(!ignore.is_excluded("src/main.rs"));
    }

    #[test]
    fn pack_honours_dockerignore_and_keeps_the_dockerfile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        fs::write(
            root.join(".dockerignore"),
            "Dockerfile\n.dockerignore\n*.txt\n!keep.txt\nvendor\nlogs\n!logs/important.log\n",
        )
        .expect("write");
        fs::write(root.join("ignored.txt"), "x").expect("write");
        fs::write(root.join("keep.txt"), "x").expect("write");
        fs::create_dir_all(root.join("vendor/big")).expect("mkdir");
        fs::write(root.join("vendor/big/blob"), "x").expect("write");
        fs::create_dir_all(root.join("logs")).expect("mkdir");
        fs::write(root.join("logs/debug.log"), "x").expect("write");
        fs::write(root.join("logs/important.log"), "x").expect("write");
        fs::create_dir_all(root.join("src")).expect("mkdir");
        fs::write(root.join("src/app.rb"), "x").expect("write");
        std::os::unix::fs::symlink("app.rb", root.join("src/link.rb")).expect("symlink");

        let ctx = BuildContext::pack(root, None).expect("packs");
        assert_eq!(ctx.dockerfile, "Dockerfile");
        assert_eq!(
            names(&ctx),
            vec![
                ".dockerignore",
                "Dockerfile",
                "keep.txt",
                "logs/important.log",
                "src/",
                "src/app.rb",
                "src/link.rb",
            ]
        );
    }

    #[test]
    fn dockerfile_outside_the_context_is_sent_under_its_own_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("ctx")).expect("mkdir");
        fs::write(dir.path().join("ctx/app"), "x").expect("write");
        fs::write(dir.path().join("Dockerfile.dev"), "FROM scratch\n").expect("write");
        let ctx = BuildContext::pack(
            &dir.path().join("ctx"),
            Some(Path::new("../Dockerfile.dev")),
        )
        .expect("packs");
        assert_eq!(ctx.dockerfile, ".devenv.Dockerfile");
        assert_eq!(names(&ctx), vec![".devenv.Dockerfile", "app"]);
    }

    #[test]
    fn missing_context_is_named() {
        let err = BuildContext::pack(Path::new("/nonexistent/ctx"), None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ctx"), "{err}");
    }
}
