//! Queue access policies, as far as the endpoint enforces them: may a service
//! principal (SNS) perform an SQS action on a queue for a given source ARN? An
//! explicit Deny wins over any Allow; no matching Allow means no.
//!
//! Understood: `Effect`, `Principal` (`*`, `{"AWS": "*"}`, `{"Service": ...}`),
//! `Action` (`sqs:SendMessage`, `sqs:*`, `*`, any case), `Resource` (ARNs with `*`
//! and `?`), and the conditions `ArnEquals`, `ArnLike`, `StringEquals`,
//! `StringLike` (and their `Not` forms) on `aws:SourceArn`.

use serde_json::Value;

/// What a policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Why not, in a sentence for the delivery log.
    Denied(String),
}

/// The request being judged.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub service: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub source_arn: &'a str,
}

fn list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `*` any run, `?` any one character; case-sensitive.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn principal_matches(principal: Option<&Value>, service: &str) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(map)) => {
            map.get("AWS").is_some_and(|v| list(v).contains(&"*"))
                || map
                    .get("Service")
                    .is_some_and(|v| list(v).iter().any(|s| s.eq_ignore_ascii_case(service)))
        }
        _ => false,
    }
}

fn action_matches(actions: Option<&Value>, action: &str) -> bool {
    let wanted = format!("sqs:{action}").to_ascii_lowercase();
    actions.is_some_and(|a| {
        list(a)
            .iter()
            .any(|p| wildcard(&p.to_ascii_lowercase(), &wanted) || *p == "*")
    })
}

fn resource_matches(resources: Option<&Value>, resource: &str) -> bool {
    match resources {
        None => true,
        Some(r) => list(r).iter().any(|p| wildcard(p, resource)),
    }
}

/// Whether every condition holds; an unknown operator or key fails closed.
fn conditions_hold(conditions: Option<&Value>, access: &Access) -> Result<bool, String> {
    let Some(conditions) = conditions else {
        return Ok(true);
    };
    let Some(operators) = conditions.as_object() else {
        return Err("the Condition block is not an object".into());
    };
    for (operator, block) in operators {
        let Some(block) = block.as_object() else {
            return Err(format!("condition {operator} is not an object"));
        };
        for (key, values) in block {
            if !key.eq_ignore_ascii_case("aws:SourceArn") {
                return Err(format!("condition key {key} is not supported"));
            }
            let values = list(values);
            let actual = access.source_arn;
            let holds = match operator.as_str() {
                "ArnEquals" | "StringEquals" => values.contains(&actual),
                "ArnLike" | "StringLike" => values.iter().any(|v| wildcard(v, actual)),
                "ArnNotEquals" | "StringNotEquals" => !values.contains(&actual),
                "ArnNotLike" | "StringNotLike" => !values.iter().any(|v| wildcard(v, actual)),
                other => return Err(format!("condition operator {other} is not supported")),
            };
            if !holds {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Judges `access` against a queue's policy document.
pub fn evaluate(policy: Option<&str>, access: &Access) -> Decision {
    let Some(policy) = policy else {
        return Decision::Denied("the queue has no Policy".into());
    };
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Decision::Denied("the queue's Policy is not valid JSON".into());
    };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let mut allowed = false;
    let mut why_not = String::from("no statement allows it");
    for statement in statements {
        if !principal_matches(statement.get("Principal"), access.service)
            || !action_matches(statement.get("Action"), access.action)
            || !resource_matches(statement.get("Resource"), access.resource)
        {
            continue;
        }
        let holds = match conditions_hold(statement.get("Condition"), access) {
            Ok(h) => h,
            Err(reason) => {
                why_not = reason;
                false
            }
        };
        let effect = statement
            .get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("");
        match (effect, holds) {
            ("Deny", true) => {
                return Decision::Denied("a Deny statement matches".into());
            }
            ("Allow", true) => allowed = true,
            ("Allow", false) if why_not == "no statement allows it" => {
                why_not = format!(
                    "the condition of an Allow statement does not hold for aws:SourceArn {}",
                    access.source_arn
                );
            }
            _ => {}
        }
    }
    if allowed {
        Decision::Allowed
    } else {
        Decision::Denied(why_not)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:search";
    const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:netflix-events-topic";

    fn access(source: &str) -> Access<'_> {
        Access {
            service: "sns.amazonaws.com",
            action: "SendMessage",
            resource: QUEUE,
            source_arn: source,
        }
    }

    #[test]
    fn the_tutorials_statement_allows_its_topic_only() {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"sns.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"{QUEUE}","Condition":{{"ArnEquals":{{"aws:SourceArn":"{TOPIC}"}}}}}}]}}"#
        );
        assert_eq!(evaluate(Some(&policy), &access(TOPIC)), Decision::Allowed);
        assert!(matches!(
            evaluate(
                Some(&policy),
                &access("arn:aws:sns:us-east-1:000000000000:other")
            ),
            Decision::Denied(_)
        ));
        assert!(matches!(
            evaluate(None, &access(TOPIC)),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn wildcards_and_deny() {
        assert!(wildcard("arn:aws:sns:*:000000000000:*", TOPIC));
        assert!(!wildcard("arn:aws:sns:*:111111111111:*", TOPIC));
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"SQS:*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}}},
            {"Effect":"Deny","Principal":"*","Action":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:000000000000:bad"}}}
        ]}"#;
        assert_eq!(evaluate(Some(policy), &access(TOPIC)), Decision::Allowed);
        assert!(matches!(
            evaluate(
                Some(policy),
                &access("arn:aws:sns:us-east-1:000000000000:bad")
            ),
            Decision::Denied(_)
        ));
    }
}
