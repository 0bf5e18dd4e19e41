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
    if let Some(secs) = rfc3339(text) {
        return Ok(secs);
    }
    let ago = parse_duration(text).map_err(|e| {
        Error::Config(format!(
            "error: --since {e}\n  = hint: give a duration (`10m`), Unix seconds, or a time such as `2026-11-27T09:30:00Z`"
        ))
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(now.saturating_sub(ago.as_secs()) as i64)
}

/// Unix seconds of an RFC 3339 time, as docker and compose take it: `2026-11-27T09:30:00Z`,
/// with fractions and `+01:00` offsets, or a bare date (midnight UTC).
fn rfc3339(text: &str) -> Option<i64> {
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let Some(time) = time else {
        return Some(days * 86_400);
    };
    // The zone: `Z`, or `+HH:MM` / `-HH:MM` after the seconds.
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = zone[1..].split_once(':')?;
        (c, sign * (num(zh)? * 3600 + num(zm)? * 60))
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.splitn(3, ':');
    let (h, mi, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
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
    // A service named on the command line that has no container has no logs; say so
    // rather than print nothing.
    for service in &args.services {
        if !containers.iter().any(|c| &c.service == service) {
            crate::ui::warn(&format!(
                "warning: service `{service}` has no container; `devenv up {service}` creates it"
            ));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_times_are_unix_seconds() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2000-01-01T00:00:00Z"), Some(946_684_800));
        assert_eq!(rfc3339("2000-01-01"), Some(946_684_800));
        assert_eq!(rfc3339("2026-11-27T09:30:15.123Z"), Some(1_795_771_815));
        assert_eq!(rfc3339("2026-11-27T10:30:15+01:00"), Some(1_795_771_815));
        assert_eq!(rfc3339("2026-11-27T04:30:15-05:00"), Some(1_795_771_815));
        assert_eq!(rfc3339("10m"), None);
        assert_eq!(rfc3339("2026-13-01"), None);
        assert_eq!(rfc3339("2026-11-27T25:00:00Z"), None);
    }
}
