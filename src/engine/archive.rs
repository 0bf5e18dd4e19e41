//! Copying files into a container and deleting paths inside it: the watch `sync` action.

use std::path::{Path, PathBuf};

use bollard::query_parameters::UploadToContainerOptions;
use bytes::Bytes;

use super::Engine;
use super::containers::StreamKind;
use super::context::header_for;
use super::error::{EngineError, Failure, failure};
use super::exec::{ExecRequest, Stdio};

impl Engine {
    /// Unpacks a tar archive into `dest_dir` of a container (which must exist there).
    pub async fn upload(
        &self,
        container: &str,
        dest_dir: &str,
        tar: Bytes,
    ) -> Result<(), EngineError> {
        let options = UploadToContainerOptions {
            path: dest_dir.to_owned(),
            no_overwrite_dir_non_dir: None,
            copy_uidgid: None,
        };
        match self
            .docker
            .upload_to_container(container, Some(options), bollard::body_full(tar))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(match failure(e) {
                Failure::Status { code: 404, message } => {
                    if message.contains("No such container") {
                        EngineError::NotFound {
                            kind: "container",
                            name: container.to_owned(),
                        }
                    } else {
                        EngineError::NotFound {
                            kind: "directory",
                            name: format!("{container}:{dest_dir}"),
                        }
                    }
                }
                other => self.classify(format!("copy files into `{container}:{dest_dir}`"), other),
            }),
        }
    }

    /// Deletes paths inside a container (`rm -rf --`); missing paths are fine.
    pub async fn delete_paths(&self, container: &str, paths: &[String]) -> Result<(), EngineError> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut cmd = vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned()];
        cmd.extend(paths.iter().cloned());
        let request = ExecRequest {
            cmd,
            ..Default::default()
        };
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let on_line = Box::new(move |_kind: StreamKind, line: &[u8]| {
            let _ = tx.send(String::from_utf8_lossy(line).into_owned());
        });
        let code = self
            .exec(
                container,
                &request,
                Stdio::Capture {
                    stdin: None,
                    on_line,
                },
            )
            .await?;
        if code != 0 {
            let output: Vec<String> = rx.try_iter().collect();
            return Err(EngineError::Api {
                op: format!("delete {} in `{container}`", paths.join(" ")),
                message: format!("rm exited with {code}: {}", output.join("; ")),
            });
        }
        Ok(())
    }
}

/// A tar of files under `root`, each stored under its relative path, ready for
/// [`Engine::upload`]. Directories among the paths are added with their contents, leaving out
/// the entries `skip` names (given the absolute path and whether it is a directory). Paths stay
/// `Path`s throughout: a file name that is not UTF-8 is packed as it is.
pub fn pack_paths(
    root: &Path,
    rel_paths: &[PathBuf],
    skip: &dyn Fn(&Path, bool) -> bool,
) -> Result<Bytes, EngineError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for rel in rel_paths {
        pack_one(&mut builder, root, rel, skip)?;
    }
    let tar = builder
        .into_inner()
        .map_err(|e| EngineError::local("pack files", e))?;
    Ok(Bytes::from(tar))
}

fn pack_one(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel: &Path,
    skip: &dyn Fn(&Path, bool) -> bool,
) -> Result<(), EngineError> {
    let path = root.join(rel);
    let failed =
        |what: &str, e: std::io::Error| EngineError::local(format!("{what} {}", path.display()), e);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| failed("read", e))?;
    let mut header = header_for(&meta);
    if meta.is_dir() {
        // `rel/`: the trailing slash marks a directory entry.
        builder
            .append_data(&mut header, rel.join(""), std::io::empty())
            .map_err(|e| failed("pack", e))?;
        let mut children: Vec<(PathBuf, bool)> = std::fs::read_dir(&path)
            .map_err(|e| failed("read", e))?
            .filter_map(|entry| entry.ok())
            .map(|entry| {
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                (rel.join(entry.file_name()), is_dir)
            })
            .filter(|(child, is_dir)| !skip(&root.join(child), *is_dir))
            .collect();
        children.sort();
        for (child, _) in children {
            pack_one(builder, root, &child, skip)?;
        }
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path).map_err(|e| failed("read", e))?;
        builder
            .append_link(&mut header, rel, &target)
            .map_err(|e| failed("pack", e))?;
    } else {
        let file = std::fs::File::open(&path).map_err(|e| failed("read", e))?;
        builder
            .append_data(&mut header, rel, file)
            .map_err(|e| failed("pack", e))?;
    }
    Ok(())
}
