//! `devenv logs`: the services' output, prefixed and colored per service.

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::session::{Session, check_names};
use crate::cli::{GlobalArgs, LogsArgs};
use crate::config::syntax::parse_duration;
use crate::engine::{Engine, LogOptions};
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
    let sources = ordered.iter().flat_map(|service| {
        containers
            .iter()
            .filter(move |c| &c.service == service)
            .map(|c| (service.clone(), c.id.clone(), options.clone()))
    });
    let mut rx = forward(&session.engine, sources);
    while let Some((service, line)) = rx.recv().await {
        printer.line(&service, &line);
    }
    Ok(())
}

/// Streams the logs of several containers into one channel of `(service, line)`, each stream
/// in its own task so lines keep their order per service. The channel closes when every
/// stream has ended.
pub fn forward(
    engine: &Engine,
    sources: impl IntoIterator<Item = (String, String, LogOptions)>,
) -> mpsc::Receiver<(String, Vec<u8>)> {
    let (tx, rx) = mpsc::channel::<(String, Vec<u8>)>(1024);
    for (service, id, options) in sources {
        let mut stream = engine.logs(&id, &options);
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = stream.next().await {
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
    rx
}
