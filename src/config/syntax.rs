//! Parsers for compose's short string syntaxes: ports, volumes, durations, sizes and commands.
//!
//! Each returns a message that reads after the offending value, so the decoder can place it at
//! the value's line and column.

use std::time::Duration;

use super::model::{Mount, MountType, Port};

/// Parses a Go-style duration as compose writes them: `1m30s`, `500ms`, `1.5s`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration; write a number with a unit, such as `30s`, `1m30s` or `500ms`"
        )
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    if !total.is_finite() || total > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a byte size: `64m`, `1gb`, `512k`, `1024`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim().to_ascii_lowercase();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number: u64 = s[..digits].parse().map_err(|_| {
        format!(
            "`{text}` is not a size; write bytes or a number with a unit, such as `64m` or `1g`"
        )
    })?;
    let factor: u64 = match s[digits..].trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` has an unknown size unit; use b, k, m or g"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Splits a command string into words as a POSIX shell would, without expanding anything.
pub fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("has an unclosed `'` quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("has an unclosed `\"` quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("has an unclosed `\"` quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Joins words into one command line that [`shell_split`] (and a POSIX shell) reads back as
/// the same words, for showing a command: `sh -c 'echo hi'`, not `sh -c echo hi`.
pub fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else if !word.contains('\'') {
        format!("'{word}'")
    } else if !word.contains(['"', '\\', '$', '`', '!']) {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn parse_port_number(text: &str, what: &str) -> Result<u16, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(format!("{what} {n} is out of range; ports are 1-65535")),
        Err(_) => Err(format!("{what} `{text}` is not a number")),
    }
}

/// A port or a `start-end` range.
fn parse_port_range(text: &str, what: &str) -> Result<(u16, u16), String> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_port_number(a, what)?, parse_port_number(b, what)?);
            if a > b {
                return Err(format!("{what} range `{text}` runs backwards"));
            }
            Ok((a, b))
        }
        None => {
            let p = parse_port_number(text, what)?;
            Ok((p, p))
        }
    }
}

pub fn check_protocol(protocol: &str) -> Result<(), String> {
    match protocol {
        "tcp" | "udp" | "sctp" => Ok(()),
        other => Err(format!("protocol `{other}` is not one of tcp, udp, sctp")),
    }
}

/// Ports one entry may expand to: a range is spelled out port by port, so this bounds what a
/// few bytes of config can cost.
const MAX_RANGE: usize = 1000;

/// Parses `[ip:][host[-range]:]container[-range][/protocol]` into one entry per container port.
pub fn parse_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, proto)) => (spec, proto.to_owned()),
        None => (text, "tcp".to_owned()),
    };
    check_protocol(&protocol)?;
    // An IPv6 host address is written in brackets: `[::1]:8080:80`.
    let (ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once("]:")
            .ok_or_else(|| "has an unclosed `[` around its IPv6 address".to_owned())?;
        (Some(ip.to_owned()), rest)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some((*ip).to_owned()), Some(*h), *c),
        (Some(ip), [h, c]) => (Some(ip), Some(*h), *c),
        _ => return Err("is not `[ip:][host:]container[/protocol]`".into()),
    };
    if let Some(ip) = &ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(format!("host address `{ip}` is not an IP address"));
    }
    let (c_start, c_end) = parse_port_range(container, "container port")?;
    let host = host.filter(|h| !h.is_empty());
    let host_range = host.map(|h| parse_port_range(h, "host port")).transpose()?;
    let count = (c_end - c_start) as usize + 1;
    if count > MAX_RANGE {
        return Err(format!(
            "range of {count} ports is too large; devenv publishes at most {MAX_RANGE} ports per entry"
        ));
    }
    let mut out = Vec::with_capacity(count);
    for (i, target) in (c_start..=c_end).enumerate() {
        let published = match host_range {
            None => None,
            // One host range onto one container port: the engine picks a free port in it.
            Some((h_start, h_end)) if count == 1 && h_start != h_end => {
                Some(format!("{h_start}-{h_end}"))
            }
            Some((h_start, h_end)) => {
                if (h_end - h_start) as usize + 1 != count {
                    return Err("maps host and container ranges of different lengths".into());
                }
                Some((h_start as usize + i).to_string())
            }
        };
        out.push(Port {
            host_ip: ip.clone(),
            target,
            published,
            protocol: protocol.clone(),
        });
    }
    Ok(out)
}

/// Is this volume source a host path (a bind) rather than a volume name?
pub fn is_host_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

/// Parses `source:target[:mode]`, `name:target` or `/anonymous`. Bind sources stay as written;
/// the loader resolves them.
pub fn parse_volume(text: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, m] => (Some(*s), *t, Some(*m)),
        _ => return Err("is not `source:target[:mode]`".into()),
    };
    if target.is_empty() {
        return Err("has an empty target path".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "target `{target}` is not an absolute path in the container"
        ));
    }
    let mut read_only = false;
    let mut nocopy = false;
    for flag in mode.unwrap_or("").split(',').filter(|f| !f.is_empty()) {
        match flag {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "nocopy" => nocopy = true,
            "z" | "Z" | "cached" | "delegated" | "consistent" | "shared" | "slave" | "private"
            | "rshared" | "rslave" | "rprivate" => {}
            other => {
                return Err(format!(
                    "mode `{other}` is not one of ro, rw, nocopy, z, Z, cached, delegated"
                ));
            }
        }
    }
    let kind = match source {
        None => MountType::Volume,
        Some("") => return Err("has an empty source".into()),
        Some(s) if is_host_path(s) => MountType::Bind,
        Some(_) => MountType::Volume,
    };
    Ok(Mount {
        kind,
        source: source.map(str::to_owned),
        target: target.to_owned(),
        read_only,
        create_host_path: false,
        nocopy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_join_quotes_only_what_needs_it_and_splits_back() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases: &[(&[&str], &str)] = &[
            (&["node", "bin/build-assets"], "node bin/build-assets"),
            (&["sh", "-c", "echo fine"], "sh -c 'echo fine'"),
            (
                &["sh", "-c", "echo 'bad line'; exit 4"],
                "sh -c \"echo 'bad line'; exit 4\"",
            ),
            (&["echo", "it's $HOME"], r"echo 'it'\''s $HOME'"),
            (&["printf", ""], "printf ''"),
        ];
        for (input, shown) in cases {
            let joined = shell_join(&words(input));
            assert_eq!(joined, *shown);
            assert_eq!(shell_split(&joined).unwrap(), words(input), "{joined}");
        }
    }

    #[test]
    fn durations() {
        let ok: &[(&str, u64)] = &[
            ("30s", 30_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1.5s", 1_500),
            ("2h", 7_200_000),
            ("0", 0),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text).unwrap().as_millis() as u64,
                *ms,
                "{text}"
            );
        }
        for bad in ["soon", "", "10", "5 s", "1x", "s"] {
            assert_eq!(
                parse_duration(bad),
                Err(format!(
                    "`{bad}` is not a duration; write a number with a unit, such as `30s`, `1m30s` or `500ms`"
                ))
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(
            parse_size("1x"),
            Err("`1x` has an unknown size unit; use b, k, m or g".into())
        );
        assert_eq!(
            parse_size("lots"),
            Err(
                "`lots` is not a size; write bytes or a number with a unit, such as `64m` or `1g`"
                    .into()
            )
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"bundle exec "rails server" -b '0.0.0.0' a\ b"#).unwrap(),
            vec!["bundle", "exec", "rails server", "-b", "0.0.0.0", "a b"]
        );
        assert_eq!(
            shell_split("sh -c 'x"),
            Err("has an unclosed `'` quote".into())
        );
        assert_eq!(shell_split("  "), Ok(vec![]));
    }

    fn port(ip: Option<&str>, target: u16, published: Option<&str>, protocol: &str) -> Port {
        Port {
            host_ip: ip.map(str::to_owned),
            target,
            published: published.map(str::to_owned),
            protocol: protocol.to_owned(),
        }
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("3000"), Ok(vec![port(None, 3000, None, "tcp")]));
        assert_eq!(
            parse_port("8080:80"),
            Ok(vec![port(None, 80, Some("8080"), "tcp")])
        );
        assert_eq!(
            parse_port("0.0.0.0:3000:3000/udp"),
            Ok(vec![port(Some("0.0.0.0"), 3000, Some("3000"), "udp")])
        );
        assert_eq!(
            parse_port("127.0.0.1::80"),
            Ok(vec![port(Some("127.0.0.1"), 80, None, "tcp")])
        );
        assert_eq!(
            parse_port("[::1]:8080:80"),
            Ok(vec![port(Some("::1"), 80, Some("8080"), "tcp")])
        );
        assert_eq!(
            parse_port("9000-9001:8000-8001"),
            Ok(vec![
                port(None, 8000, Some("9000"), "tcp"),
                port(None, 8001, Some("9001"), "tcp")
            ])
        );
        assert_eq!(
            parse_port("9000-9005:80"),
            Ok(vec![port(None, 80, Some("9000-9005"), "tcp")])
        );
        let errors: &[(&str, &str)] = &[
            ("abc", "container port `abc` is not a number"),
            (
                "70000",
                "container port 70000 is out of range; ports are 1-65535",
            ),
            ("0:80", "host port 0 is out of range; ports are 1-65535"),
            ("80/icmp", "protocol `icmp` is not one of tcp, udp, sctp"),
            ("1:2:3:4", "is not `[ip:][host:]container[/protocol]`"),
            ("x.y:80:80", "host address `x.y` is not an IP address"),
            (
                "9000-9002:80-81",
                "maps host and container ranges of different lengths",
            ),
            ("90-80", "container port range `90-80` runs backwards"),
        ];
        for (text, want) in errors {
            assert_eq!(parse_port(text), Err((*want).to_owned()), "{text}");
        }
    }

    #[test]
    fn volumes() {
        let bind = parse_volume("./app:/app/app:ro").unwrap();
        assert_eq!((bind.kind, bind.read_only), (MountType::Bind, true));
        let named = parse_volume("bundle:/bundle").unwrap();
        assert_eq!(
            (named.kind, named.source.as_deref()),
            (MountType::Volume, Some("bundle"))
        );
        let anon = parse_volume("/data").unwrap();
        assert_eq!((anon.kind, anon.source), (MountType::Volume, None));
        let errors: &[(&str, &str)] = &[
            ("./a:", "has an empty target path"),
            (
                "./a:rel",
                "target `rel` is not an absolute path in the container",
            ),
            (
                "a:/b:bogus",
                "mode `bogus` is not one of ro, rw, nocopy, z, Z, cached, delegated",
            ),
            ("a:/b:ro:x", "is not `source:target[:mode]`"),
            (":/b", "has an empty source"),
        ];
        for (text, want) in errors {
            assert_eq!(parse_volume(text), Err((*want).to_owned()), "{text}");
        }
    }
}
