//! Subscription filter policies: parsing with AWS's limits, and matching against
//! a message's attributes (scope `MessageAttributes`) or its JSON body (scope
//! `MessageBody`).
//!
//! Operators: exact strings, numbers, booleans and null; `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`; `anything-but` (values, `prefix`, `suffix`);
//! `numeric` ranges; `exists`; `cidr`; `$or`; nested keys (body scope). Every
//! key of a policy must match (AND); the values of one key are alternatives (OR).

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::sns::error::{SnsError, SnsResult};
use crate::sns::model::MessageAttributes;

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Exact(Value),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Vec<(String, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    /// A key path (one name for attributes; nested names for bodies) and its
    /// alternatives.
    Field(Vec<String>, Vec<Cond>),
    Or(Vec<Vec<Clause>>),
}

/// Where a policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

impl Scope {
    pub fn parse(s: &str) -> SnsResult<Scope> {
        match s {
            "MessageAttributes" => Ok(Scope::MessageAttributes),
            "MessageBody" => Ok(Scope::MessageBody),
            _ => Err(SnsError::invalid(
                "FilterPolicyScope: Invalid filter policy scope",
            )),
        }
    }
}

/// A parsed filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    clauses: Vec<Clause>,
}

fn policy_error(reason: &str) -> SnsError {
    SnsError::invalid(format!("FilterPolicy: {reason}"))
}

const MAX_KEYS: usize = 5;
const MAX_COMBINATIONS: usize = 150;

impl FilterPolicy {
    /// Parses and checks a policy. An empty object `{}` matches everything.
    pub fn parse(text: &str, scope: Scope) -> SnsResult<FilterPolicy> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| policy_error("failed to parse JSON."))?;
        let Value::Object(map) = value else {
            return Err(policy_error("Filter policy must be a JSON object."));
        };
        let clauses = parse_object(&map, &[], scope, 0)?;
        let policy = FilterPolicy { clauses };
        let (keys, combinations) = complexity(&policy.clauses);
        if keys > MAX_KEYS {
            return Err(policy_error(&format!(
                "Filter policy can not have more than {MAX_KEYS} keys"
            )));
        }
        if combinations > MAX_COMBINATIONS {
            return Err(policy_error("Filter policy is too complex"));
        }
        Ok(policy)
    }

    /// Whether a message passes; on failure, the key that did not match.
    pub fn matches(
        &self,
        attributes: &MessageAttributes,
        body: &str,
        scope: Scope,
    ) -> Result<(), String> {
        let body_json;
        let source = match scope {
            Scope::MessageAttributes => Source::Attributes(attributes),
            Scope::MessageBody => {
                body_json = serde_json::from_str::<Value>(body).ok();
                match &body_json {
                    Some(v) => Source::Body(v),
                    None => return Err("the message body is not JSON".into()),
                }
            }
        };
        match_all(&self.clauses, &source)
    }
}

fn complexity(clauses: &[Clause]) -> (usize, usize) {
    let mut keys = 0;
    let mut combinations = 1usize;
    for clause in clauses {
        match clause {
            Clause::Field(_, conds) => {
                keys += 1;
                combinations = combinations.saturating_mul(conds.len().max(1));
            }
            Clause::Or(branches) => {
                let mut sum = 0usize;
                let mut most_keys = 0;
                for branch in branches {
                    let (k, c) = complexity(branch);
                    most_keys = most_keys.max(k);
                    sum = sum.saturating_add(c);
                }
                keys += most_keys;
                combinations = combinations.saturating_mul(sum.max(1));
            }
        }
    }
    (keys, combinations)
}

fn parse_object(
    map: &Map<String, Value>,
    path: &[String],
    scope: Scope,
    depth: usize,
) -> SnsResult<Vec<Clause>> {
    if depth > 10 {
        return Err(policy_error("Filter policy is too deeply nested"));
    }
    let mut clauses = Vec::new();
    for (key, value) in map {
        if key == "$or" {
            let Value::Array(branches) = value else {
                return Err(policy_error("$or must be an array of objects"));
            };
            if branches.len() < 2 {
                return Err(policy_error("$or must have at least 2 branches"));
            }
            let mut parsed = Vec::new();
            for branch in branches {
                let Value::Object(b) = branch else {
                    return Err(policy_error("$or must be an array of objects"));
                };
                parsed.push(parse_object(b, path, scope, depth + 1)?);
            }
            clauses.push(Clause::Or(parsed));
            continue;
        }
        let mut key_path = path.to_vec();
        key_path.push(key.clone());
        match value {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(policy_error(&format!(
                        "Empty arrays are not allowed ({key})"
                    )));
                }
                let conds = items
                    .iter()
                    .map(|item| parse_cond(key, item))
                    .collect::<SnsResult<Vec<_>>>()?;
                clauses.push(Clause::Field(key_path, conds));
            }
            Value::Object(nested) if scope == Scope::MessageBody => {
                clauses.extend(parse_object(nested, &key_path, scope, depth + 1)?);
            }
            _ => {
                return Err(policy_error(&format!(
                    "\"{key}\" must be an object or an array"
                )));
            }
        }
    }
    Ok(clauses)
}

fn string_operand(key: &str, op: &str, v: &Value) -> SnsResult<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| policy_error(&format!("{op} match pattern must be a string ({key})")))
}

fn parse_cond(key: &str, item: &Value) -> SnsResult<Cond> {
    match item {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            Ok(Cond::Exact(item.clone()))
        }
        Value::Array(_) => Err(policy_error(&format!(
            "Match value must be String, number, true, false, or null ({key})"
        ))),
        Value::Object(op) => {
            let Some((name, operand)) = op.iter().next().filter(|_| op.len() == 1) else {
                return Err(policy_error(&format!("Unrecognized match type ({key})")));
            };
            match name.as_str() {
                "prefix" => Ok(Cond::Prefix(string_operand(key, name, operand)?)),
                "suffix" => Ok(Cond::Suffix(string_operand(key, name, operand)?)),
                "equals-ignore-case" => {
                    Ok(Cond::EqualsIgnoreCase(string_operand(key, name, operand)?))
                }
                "wildcard" => Ok(Cond::Wildcard(string_operand(key, name, operand)?)),
                "exists" => operand.as_bool().map(Cond::Exists).ok_or_else(|| {
                    policy_error(&format!(
                        "exists match pattern must be either true or false ({key})"
                    ))
                }),
                "anything-but" => match operand {
                    Value::Array(values)
                        if !values.is_empty()
                            && values.iter().all(|v| v.is_string() || v.is_number()) =>
                    {
                        Ok(Cond::AnythingBut(values.clone()))
                    }
                    Value::String(_) | Value::Number(_) => {
                        Ok(Cond::AnythingBut(vec![operand.clone()]))
                    }
                    Value::Object(inner) if inner.len() == 1 => match inner.iter().next() {
                        Some((k, v)) if k == "prefix" => {
                            Ok(Cond::AnythingButPrefix(string_operand(key, k, v)?))
                        }
                        Some((k, v)) if k == "suffix" => {
                            Ok(Cond::AnythingButSuffix(string_operand(key, k, v)?))
                        }
                        _ => Err(policy_error(&format!(
                            "Unsupported anything-but pattern ({key})"
                        ))),
                    },
                    _ => Err(policy_error(&format!(
                        "Value of anything-but must be an array or single string/number value ({key})"
                    ))),
                },
                "numeric" => {
                    let Value::Array(parts) = operand else {
                        return Err(policy_error(&format!(
                            "Value of numeric must be an array ({key})"
                        )));
                    };
                    let mut ranges = Vec::new();
                    let mut i = 0;
                    while i < parts.len() {
                        let op = parts[i]
                            .as_str()
                            .filter(|o| ["=", "<", "<=", ">", ">="].contains(o));
                        let num = parts.get(i + 1).and_then(Value::as_f64);
                        match (op, num) {
                            (Some(op), Some(n)) if n.abs() <= 1e9 => {
                                ranges.push((op.to_owned(), n))
                            }
                            _ => {
                                return Err(policy_error(&format!(
                                    "Invalid numeric match ({key})"
                                )));
                            }
                        }
                        i += 2;
                    }
                    if ranges.is_empty()
                        || ranges.len() > 2
                        || (ranges.len() == 2 && ranges.iter().any(|(o, _)| o == "="))
                    {
                        return Err(policy_error(&format!("Invalid numeric match ({key})")));
                    }
                    Ok(Cond::Numeric(ranges))
                }
                "cidr" => {
                    let text = string_operand(key, name, operand)?;
                    let (ip, bits) = text
                        .split_once('/')
                        .ok_or_else(|| policy_error(&format!("Malformed CIDR ({key})")))?;
                    let ip: IpAddr = ip
                        .parse()
                        .map_err(|_| policy_error(&format!("Malformed CIDR ({key})")))?;
                    let bits: u8 = bits
                        .parse()
                        .map_err(|_| policy_error(&format!("Malformed CIDR ({key})")))?;
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    if bits > max {
                        return Err(policy_error(&format!("Malformed CIDR ({key})")));
                    }
                    Ok(Cond::Cidr(ip, bits))
                }
                other => Err(policy_error(&format!(
                    "Unrecognized match type {other} ({key})"
                ))),
            }
        }
    }
}

enum Source<'a> {
    Attributes(&'a MessageAttributes),
    Body(&'a Value),
}

/// The values at a key path: several when arrays are crossed; none when absent.
fn lookup(source: &Source, path: &[String]) -> Option<Vec<Value>> {
    match source {
        Source::Attributes(attributes) => {
            let attribute = attributes.get(path.first()?)?;
            let base = attribute.data_type.split('.').next().unwrap_or_default();
            let text = attribute.string_value.as_deref();
            match (base, text) {
                ("String", Some(s)) if attribute.data_type == "String.Array" => {
                    match serde_json::from_str::<Value>(s) {
                        Ok(Value::Array(items)) => Some(items),
                        _ => Some(vec![Value::String(s.to_owned())]),
                    }
                }
                ("String", Some(s)) => Some(vec![Value::String(s.to_owned())]),
                ("Number", Some(s)) => Some(vec![
                    s.trim()
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(Value::Null, Value::Number),
                ]),
                // Binary attributes are present but match no value.
                _ => Some(Vec::new()),
            }
        }
        Source::Body(body) => {
            let mut current: Vec<&Value> = vec![body];
            for name in path {
                let mut next = Vec::new();
                for value in current {
                    collect(value, name, &mut next);
                }
                if next.is_empty() {
                    return None;
                }
                current = next;
            }
            let mut out = Vec::new();
            for v in current {
                match v {
                    Value::Array(items) => out.extend(items.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Some(out)
        }
    }
}

fn collect<'a>(value: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get(name) {
                out.push(v);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, name, out);
            }
        }
        _ => {}
    }
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

fn cond_matches(cond: &Cond, value: &Value) -> bool {
    let text = value.as_str();
    match cond {
        Cond::Exact(expected) => {
            if expected.is_number() {
                numbers_equal(expected, value)
            } else {
                expected == value
            }
        }
        Cond::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Cond::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Cond::EqualsIgnoreCase(s) => text.is_some_and(|t| t.to_lowercase() == s.to_lowercase()),
        Cond::Wildcard(p) => text.is_some_and(|t| crate::sqs::policy::wildcard(p, t)),
        Cond::AnythingBut(values) => !values.iter().any(|v| {
            if v.is_number() {
                numbers_equal(v, value)
            } else {
                v == value
            }
        }),
        Cond::AnythingButPrefix(p) => text.is_some_and(|t| !t.starts_with(p.as_str())),
        Cond::AnythingButSuffix(s) => text.is_some_and(|t| !t.ends_with(s.as_str())),
        Cond::Numeric(ranges) => value.as_f64().is_some_and(|n| {
            ranges.iter().all(|(op, bound)| match op.as_str() {
                "=" => (n - bound).abs() < 1e-9,
                "<" => n < *bound,
                "<=" => n <= *bound,
                ">" => n > *bound,
                ">=" => n >= *bound,
                _ => false,
            })
        }),
        Cond::Exists(_) => false,
        Cond::Cidr(net, bits) => text
            .and_then(|t| t.parse::<IpAddr>().ok())
            .is_some_and(|ip| in_cidr(ip, *net, *bits)),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

fn match_all(clauses: &[Clause], source: &Source) -> Result<(), String> {
    for clause in clauses {
        match clause {
            Clause::Field(path, conds) => {
                let values = lookup(source, path);
                let ok = conds.iter().any(|cond| match (cond, &values) {
                    (Cond::Exists(want), v) => *want == v.is_some(),
                    (_, Some(values)) => values.iter().any(|v| cond_matches(cond, v)),
                    (_, None) => false,
                });
                if !ok {
                    return Err(path.join("."));
                }
            }
            Clause::Or(branches) => {
                let mut last = String::new();
                let any = branches.iter().any(|b| match match_all(b, source) {
                    Ok(()) => true,
                    Err(key) => {
                        last = key;
                        false
                    }
                });
                if !any {
                    return Err(format!("$or ({last})"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sns::model::MessageAttributeValue;

    fn attrs(pairs: &[(&str, &str, &str)]) -> MessageAttributes {
        pairs
            .iter()
            .map(|(k, t, v)| {
                (
                    k.to_string(),
                    MessageAttributeValue {
                        data_type: t.to_string(),
                        string_value: Some(v.to_string()),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    fn check(policy: &str, a: &MessageAttributes) -> bool {
        FilterPolicy::parse(policy, Scope::MessageAttributes)
            .unwrap()
            .matches(a, "", Scope::MessageAttributes)
            .is_ok()
    }

    #[test]
    fn attribute_operators() {
        let a = attrs(&[
            ("type", "String", "movie"),
            ("price", "Number", "12.5"),
            ("tags", "String.Array", "[\"a\",\"b\"]"),
            ("ip", "String", "10.0.0.7"),
        ]);
        assert!(check(r#"{"type":["movie","tv"]}"#, &a));
        assert!(!check(r#"{"type":["tv"]}"#, &a));
        assert!(check(r#"{"type":[{"prefix":"mov"}]}"#, &a));
        assert!(check(r#"{"type":[{"suffix":"vie"}]}"#, &a));
        assert!(check(r#"{"type":[{"equals-ignore-case":"MOVIE"}]}"#, &a));
        assert!(check(r#"{"type":[{"anything-but":["tv"]}]}"#, &a));
        assert!(!check(r#"{"type":[{"anything-but":{"prefix":"m"}}]}"#, &a));
        assert!(check(r#"{"price":[{"numeric":[">",10,"<=",12.5]}]}"#, &a));
        assert!(!check(r#"{"price":[{"numeric":["<",10]}]}"#, &a));
        assert!(check(r#"{"price":[12.5]}"#, &a));
        assert!(check(r#"{"tags":["b"]}"#, &a));
        assert!(check(
            r#"{"missing":[{"exists":false}],"type":[{"exists":true}]}"#,
            &a
        ));
        assert!(check(r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &a));
        assert!(!check(r#"{"ip":[{"cidr":"10.0.1.0/24"}]}"#, &a));
        assert!(check(
            r#"{"$or":[{"type":["tv"]},{"price":[{"numeric":[">",1]}]}]}"#,
            &a
        ));
        assert!(check("{}", &a));
    }

    #[test]
    fn body_scope_nested_keys() {
        let p = FilterPolicy::parse(
            r#"{"media":{"kind":["movie"]},"id":[{"numeric":[">=",100]}]}"#,
            Scope::MessageBody,
        )
        .unwrap();
        let none = MessageAttributes::new();
        assert!(
            p.matches(
                &none,
                r#"{"media":{"kind":"movie"},"id":150}"#,
                Scope::MessageBody
            )
            .is_ok()
        );
        assert_eq!(
            p.matches(
                &none,
                r#"{"media":{"kind":"tv"},"id":150}"#,
                Scope::MessageBody
            ),
            Err("media.kind".into())
        );
        assert!(p.matches(&none, "not json", Scope::MessageBody).is_err());
    }

    #[test]
    fn invalid_policies_are_refused() {
        for bad in [
            "[]",
            "nope",
            r#"{"a":"x"}"#,
            r#"{"a":[]}"#,
            r#"{"a":[{"bogus":1}]}"#,
            r#"{"a":[{"numeric":[">"]}]}"#,
            r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#,
        ] {
            assert!(
                FilterPolicy::parse(bad, Scope::MessageAttributes).is_err(),
                "{bad}"
            );
        }
        let many: Vec<String> = (0..13).map(|i| format!("\"v{i}\"")).collect();
        let p = format!(r#"{{"a":[{m}],"b":[{m}]}}"#, m = many.join(","));
        assert!(FilterPolicy::parse(&p, Scope::MessageAttributes).is_err());
    }
}
