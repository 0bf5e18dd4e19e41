//! `devenv logs`: the services' output, prefixed and colored per service.

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::session::{Session, check_names};
use crate::cli::{GlobalArgs, LogsArgs};
use crate::config::syntax::parse_duration;
use crate::engine::LogOptions;
use crate::error::Error;
use crate::plan::order;
use crate::ui::logs::LogPrinter;

/// `--since`: a duration ago (`10m`) or Unix seconds.
fn since(text: &str) -> Result<i64, Error> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let ago = parse_duration(text).map_err(|e| Error::Config(format!("error: --since {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(now.saturating_sub(ago.as_secs()) as i64)
}

pub async fn run(global: &GlobalArgs, args: &LogsArgs) -> Result<(), Error> {
    let session = Session::open(global).await?;
    let project = session.project();
    check_names(project, &args.services)?;
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail,
        since: args.since.as_deref().map(since).transpose()?,
        timestamps: args.timestamps,
    };
    let containers = session.containers(true, false).await?;
    let ordered: Vec<String> = order::ordered(project)
        .into_iter()
        .filter(|s| args.services.is_empty() || args.services.contains(s))
        .collect();
    let printer = LogPrinter::new(&ordered, true);
    let (tx, mut rx) = mpsc::channel::<(String, Vec<u8>)>(1024);
    for service in &ordered {
        for c in containers.iter().filter(|c| &c.service == service) {
            let mut stream = session.engine.logs(&c.id, &options);
            let tx = tx.clone();
            let service = service.clone();
            tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    let Ok(chunk) = item else { break };
                    if tx
                        .send((service.clone(), chunk.line.to_vec()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    }
    drop(tx);
    while let Some((service, line)) = rx.recv().await {
        printer.line(&service, &line);
    }
    Ok(())
}
