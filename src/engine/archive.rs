//! Copying files into a container and deleting paths inside it: the watch `sync` action.

use std::path::Path;

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

/// A tar of files under `root`, each stored under its relative path (`/`-separated), ready
/// for [`Engine::upload`]. Directories among the paths are added with their contents.
pub fn pack_paths(root: &Path, rel_paths: &[String]) -> Result<Bytes, EngineError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for rel in rel_paths {
        let path = root.join(rel);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?;
        if meta.is_dir() {
            let mut header = header_for(&meta);
            builder
                .append_data(&mut header, format!("{rel}/"), std::io::empty())
                .map_err(|e| EngineError::local(format!("pack {}", path.display()), e))?;
            let mut children: Vec<String> = std::fs::read_dir(&path)
                .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?
                .filter_map(|entry| entry.ok())
                .map(|entry| format!("{rel}/{}", entry.file_name().to_string_lossy()))
                .collect();
            children.sort();
            let nested = pack_paths(root, &children)?;
            append_archive(&mut builder, &nested)?;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?;
            let mut header = header_for(&meta);
            builder
                .append_link(&mut header, rel, &target)
                .map_err(|e| EngineError::local(format!("pack {}", path.display()), e))?;
        } else {
            let file = std::fs::File::open(&path)
                .map_err(|e| EngineError::local(format!("read {}", path.display()), e))?;
            let mut header = header_for(&meta);
            builder
                .append_data(&mut header, rel, file)
                .map_err(|e| EngineError::local(format!("pack {}", path.display()), e))?;
        }
    }
    let tar = builder
        .into_inner()
        .map_err(|e| EngineError::local("pack files", e))?;
    Ok(Bytes::from(tar))
}

/// Copies the entries of one archive into another.
fn append_archive(builder: &mut tar::Builder<Vec<u8>>, tar: &[u8]) -> Result<(), EngineError> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| EngineError::local("pack files", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| EngineError::local("pack files", e))?;
        let mut header = entry.header().clone();
        let path = entry
            .path()
            .map_err(|e| EngineError::local("pack files", e))?
            .into_owned();
        match entry
            .link_name()
            .map_err(|e| EngineError::local("pack files", e))?
        {
            Some(target) => {
                let target = target.into_owned();
                builder.append_link(&mut header, &path, &target)
            }
            None => builder.append_data(&mut header, &path, &mut entry),
        }
        .map_err(|e| EngineError::local("pack files", e))?;
    }
    Ok(())
}
