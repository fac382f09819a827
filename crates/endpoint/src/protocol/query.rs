//! The Query protocol: parameters as `application/x-www-form-urlencoded` (body or
//! URL), answers and errors as XML.
//!
//! Decoding turns the flattened parameter names (`Attribute.1.Name`,
//! `MessageAttribute.2.Value.StringValue`, `SendMessageBatchRequestEntry.1.Id`)
//! into the same JSON the JSON protocol carries (`Attributes`, `MessageAttributes`,
//! `Entries`), so both protocols decode into one typed request. Encoding walks a
//! result's JSON and writes AWS's XML element names.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::sqs::SqsError;

pub const SQS_XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// A tree of parameters before renaming: leaves are strings, numbered segments
/// become arrays.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: String) {
        match path.split_first() {
            None => self.value = Some(value),
            Some((head, rest)) => self
                .children
                .entry((*head).to_owned())
                .or_default()
                .insert(rest, value),
        }
    }

    /// Whether every child is numbered (`X.1`, `X.2`, ...): a list.
    fn is_numbered(&self) -> bool {
        self.children.keys().all(|k| k.parse::<u32>().is_ok())
    }

    /// The numbered children in numeric order (`10` after `9`).
    fn numbered(self) -> impl Iterator<Item = Node> {
        let mut items: Vec<(u32, Node)> = self
            .children
            .into_iter()
            .filter_map(|(k, v)| k.parse::<u32>().ok().map(|n| (n, v)))
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v)
    }

    fn into_json(self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.value.unwrap_or_default());
        }
        if self.is_numbered() {
            return Value::Array(self.numbered().map(Node::into_json).collect());
        }
        let mut map = Map::new();
        for (k, v) in self.children {
            let (name, value) = rename(&k, v.into_json());
            map.insert(name, value);
        }
        Value::Object(map)
    }
}

impl Node {
    /// The SNS (non-flattened) shapes: `X.member.N` is a list, `X.entry.N.key` /
    /// `.value` (or `.Name` / `.Value`) a map; names are kept as they are.
    fn into_json_wrapped(self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.value.unwrap_or_default());
        }
        if self.is_numbered() {
            return Value::Array(self.numbered().map(Node::into_json_wrapped).collect());
        }
        if self.children.len() == 1 {
            if self.children.contains_key("member") {
                let member = self.children.into_values().next().unwrap_or_default();
                return match member.into_json_wrapped() {
                    Value::Array(items) => Value::Array(items),
                    other => Value::Array(vec![other]),
                };
            }
            if self.children.contains_key("entry") {
                let entries = self.children.into_values().next().unwrap_or_default();
                let mut map = Map::new();
                let items = match entries.into_json_wrapped() {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for item in items {
                    if let Value::Object(mut entry) = item {
                        let key = entry
                            .remove("key")
                            .or_else(|| entry.remove("Name"))
                            .and_then(|k| k.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        let value = entry
                            .remove("value")
                            .or_else(|| entry.remove("Value"))
                            .unwrap_or(Value::Null);
                        map.insert(key, value);
                    }
                }
                return Value::Object(map);
            }
        }
        let mut map = Map::new();
        for (k, v) in self.children {
            map.insert(k, v.into_json_wrapped());
        }
        Value::Object(map)
    }
}

/// The JSON shapes of a parameter tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQS: flattened lists and maps (`Attribute.1.Name`).
    Flattened,
    /// SNS: wrapped lists and maps (`Attributes.entry.1.key`, `Tags.member.1.Key`).
    Wrapped,
}

/// A list of `{<key>: k, <value>: v}` pairs as a JSON map.
fn pairs_to_map(value: Value, key: &str, val: &str) -> Value {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        other => return other,
    };
    let mut out = Map::new();
    for item in items {
        if let Value::Object(mut entry) = item {
            let k = entry
                .remove(key)
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.insert(k, entry.remove(val).unwrap_or(Value::Null));
        }
    }
    Value::Object(out)
}

fn as_list(value: Value) -> Value {
    match value {
        Value::Array(_) => value,
        Value::Null => Value::Array(Vec::new()),
        other => Value::Array(vec![other]),
    }
}

/// The JSON name of a flattened Query name, and its value reshaped.
fn rename(name: &str, value: Value) -> (String, Value) {
    match name {
        "Attribute" | "Attributes" => ("Attributes".into(), pairs_to_map(value, "Name", "Value")),
        "Tag" | "Tags" => ("Tags".into(), pairs_to_map(value, "Key", "Value")),
        "MessageAttribute" | "MessageAttributes" => (
            "MessageAttributes".into(),
            pairs_to_map(value, "Name", "Value"),
        ),
        "MessageSystemAttribute" | "MessageSystemAttributes" => (
            "MessageSystemAttributes".into(),
            pairs_to_map(value, "Name", "Value"),
        ),
        "AttributeName" => ("AttributeNames".into(), as_list(value)),
        "MessageAttributeName" => ("MessageAttributeNames".into(), as_list(value)),
        "MessageSystemAttributeName" => ("MessageSystemAttributeNames".into(), as_list(value)),
        "TagKey" => ("TagKeys".into(), as_list(value)),
        "AWSAccountId" => ("AWSAccountIds".into(), as_list(value)),
        "ActionName" => ("Actions".into(), as_list(value)),
        "StringListValue" => ("StringListValues".into(), as_list(value)),
        "BinaryListValue" => ("BinaryListValues".into(), as_list(value)),
        n if n.ends_with("BatchRequestEntry") => ("Entries".into(), as_list(value)),
        other => (other.to_owned(), value),
    }
}

/// The action and its input as JSON, from form parameters.
pub fn decode(params: Vec<(String, String)>) -> (Option<String>, Value) {
    decode_as(params, Dialect::Flattened)
}

/// [`decode`] for either dialect.
pub fn decode_as(params: Vec<(String, String)>, dialect: Dialect) -> (Option<String>, Value) {
    let mut root = Node::default();
    let mut action = None;
    for (key, value) in params {
        match key.as_str() {
            "Action" => action = Some(value),
            "Version" | "SignatureVersion" | "SignatureMethod" | "Timestamp" | "Expires" => {}
            k if k.starts_with("X-Amz-") || k.starts_with("AWSAccessKeyId") => {}
            _ => {
                let path: Vec<&str> = key.split('.').collect();
                root.insert(&path, value);
            }
        }
    }
    let json = if root.children.is_empty() {
        Value::Object(Map::new())
    } else if dialect == Dialect::Wrapped {
        root.into_json_wrapped()
    } else {
        root.into_json()
    };
    (action, json)
}

/// XML text with `&`, `<`, `>`, quotes and carriage returns escaped (a raw CR
/// would be turned into LF by any XML parser).
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape(text, out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The XML element name of each item of a list field, by action.
fn item_name(action: &str, field: &str) -> String {
    match field {
        "QueueUrls" | "queueUrls" => "QueueUrl".into(),
        "Messages" => "Message".into(),
        "Failed" => "BatchResultErrorEntry".into(),
        "Successful" => format!("{action}ResultEntry"),
        "Results" => format!("{action}ResultEntry"),
        "StringListValues" => "StringListValue".into(),
        "BinaryListValues" => "BinaryListValue".into(),
        other => other.trim_end_matches('s').to_owned(),
    }
}

fn write_fields(action: &str, object: &Map<String, Value>, out: &mut String) {
    for (key, value) in object {
        match (key.as_str(), value) {
            ("Attributes", Value::Object(map)) => {
                for (k, v) in map {
                    out.push_str("<Attribute>");
                    element(out, "Name", k);
                    element(out, "Value", &scalar(v));
                    out.push_str("</Attribute>");
                }
            }
            ("Tags", Value::Object(map)) => {
                for (k, v) in map {
                    out.push_str("<Tag>");
                    element(out, "Key", k);
                    element(out, "Value", &scalar(v));
                    out.push_str("</Tag>");
                }
            }
            ("MessageAttributes", Value::Object(map)) => {
                for (k, v) in map {
                    out.push_str("<MessageAttribute>");
                    element(out, "Name", k);
                    out.push_str("<Value>");
                    if let Value::Object(fields) = v {
                        write_fields(action, fields, out);
                    }
                    out.push_str("</Value></MessageAttribute>");
                }
            }
            (_, Value::Array(items)) => {
                let name = item_name(action, key);
                for item in items {
                    match item {
                        Value::Object(fields) => {
                            out.push('<');
                            out.push_str(&name);
                            out.push('>');
                            write_fields(action, fields, out);
                            out.push_str("</");
                            out.push_str(&name);
                            out.push('>');
                        }
                        other => element(out, &name, &scalar(other)),
                    }
                }
            }
            (_, Value::Object(fields)) => {
                out.push('<');
                out.push_str(key);
                out.push('>');
                write_fields(action, fields, out);
                out.push_str("</");
                out.push_str(key);
                out.push('>');
            }
            (_, Value::Null) => {}
            (_, other) => element(out, key, &scalar(other)),
        }
    }
}

/// SNS's (wrapped) XML: lists as `<X><member>..</member></X>`, the Attributes
/// map as `<Attributes><entry><key/><value/></entry></Attributes>`.
fn write_wrapped(object: &Map<String, Value>, out: &mut String) {
    for (key, value) in object {
        out.push('<');
        out.push_str(key);
        out.push('>');
        match value {
            Value::Object(map) if key == "Attributes" => {
                for (k, v) in map {
                    out.push_str("<entry>");
                    element(out, "key", k);
                    element(out, "value", &scalar(v));
                    out.push_str("</entry>");
                }
            }
            Value::Object(fields) => write_wrapped(fields, out),
            Value::Array(items) => {
                for item in items {
                    out.push_str("<member>");
                    match item {
                        Value::Object(fields) => write_wrapped(fields, out),
                        other => escape(&scalar(other), out),
                    }
                    out.push_str("</member>");
                }
            }
            other => escape(&scalar(other), out),
        }
        out.push_str("</");
        out.push_str(key);
        out.push('>');
    }
}

/// A successful SNS answer.
pub fn ok_wrapped(action: &str, xmlns: &str, result: &Value, request_id: &str) -> Response {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\"?>");
    out.push_str(&format!("<{action}Response xmlns=\"{xmlns}\">"));
    match result {
        Value::Object(fields) if !fields.is_empty() => {
            out.push_str(&format!("<{action}Result>"));
            write_wrapped(fields, &mut out);
            out.push_str(&format!("</{action}Result>"));
        }
        // An action with an output shape answers an empty Result element.
        _ if !crate::sns::model::NO_OUTPUT.contains(&action) => {
            out.push_str(&format!("<{action}Result/>"));
        }
        _ => {}
    }
    out.push_str("<ResponseMetadata>");
    element(&mut out, "RequestId", request_id);
    out.push_str(&format!("</ResponseMetadata></{action}Response>"));
    xml_response(StatusCode::OK, out, request_id)
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// A successful answer: `<ActionResponse><ActionResult>...</ActionResult>` and the
/// request id; actions without output have no Result element.
pub fn ok(action: &str, xmlns: &str, result: &Value, request_id: &str) -> Response {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\"?>");
    out.push_str(&format!("<{action}Response xmlns=\"{xmlns}\">"));
    match result {
        Value::Object(fields) if !fields.is_empty() => {
            out.push_str(&format!("<{action}Result>"));
            write_fields(action, fields, &mut out);
            out.push_str(&format!("</{action}Result>"));
        }
        // An action with an output shape answers an empty Result element.
        _ if !crate::sqs::model::NO_OUTPUT.contains(&action) => {
            out.push_str(&format!("<{action}Result/>"));
        }
        _ => {}
    }
    out.push_str("<ResponseMetadata>");
    element(&mut out, "RequestId", request_id);
    out.push_str(&format!("</ResponseMetadata></{action}Response>"));
    xml_response(StatusCode::OK, out, request_id)
}

/// An error: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
pub fn error(
    xmlns: &str,
    status: u16,
    code: &str,
    sender_fault: bool,
    message: &str,
    request_id: &str,
) -> Response {
    let mut out = String::with_capacity(256);
    out.push_str(&format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{xmlns}\"><Error>"
    ));
    element(
        &mut out,
        "Type",
        if sender_fault { "Sender" } else { "Receiver" },
    );
    element(&mut out, "Code", code);
    element(&mut out, "Message", message);
    out.push_str("<Detail/></Error>");
    element(&mut out, "RequestId", request_id);
    out.push_str("</ErrorResponse>");
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    xml_response(status, out, request_id)
}

/// The namespace of SNS's XML.
pub const SNS_XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// An SQS error in the Query protocol's shape.
pub fn sqs_error(e: &SqsError, request_id: &str) -> Response {
    error(
        SQS_XMLNS,
        e.kind.status(),
        e.kind.query_code(),
        e.kind.sender_fault(),
        &e.message,
        request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flattened_names_become_the_json_shapes() {
        let (action, json) = decode(params(&[
            ("Action", "SendMessageBatch"),
            ("Version", "2012-11-05"),
            ("QueueUrl", "http://h/0/q"),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "x"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "color",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                "red",
            ),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "y"),
        ]));
        assert_eq!(action.as_deref(), Some("SendMessageBatch"));
        assert_eq!(
            json,
            serde_json::json!({
                "QueueUrl": "http://h/0/q",
                "Entries": [
                    {"Id": "a", "MessageBody": "x", "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}},
                    {"Id": "b", "MessageBody": "y"},
                ]
            })
        );
        let (_, json) = decode(params(&[
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "60"),
            ("AttributeName.1", "All"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "web"),
        ]));
        assert_eq!(
            json,
            serde_json::json!({
                "Attributes": {"VisibilityTimeout": "60"},
                "AttributeNames": ["All"],
                "Tags": {"team": "web"},
            })
        );
    }

    #[test]
    fn results_become_aws_xml() {
        let result = serde_json::json!({
            "Messages": [{"MessageId": "m", "Body": "a<b\r", "Attributes": {"SenderId": "s"},
                          "MessageAttributes": {"c": {"StringValue": "v", "DataType": "String"}}}]
        });
        let response = ok("ReceiveMessage", SQS_XMLNS, &result, "rid");
        assert_eq!(response.status(), StatusCode::OK);
        let mut out = String::new();
        write_fields("ReceiveMessage", result.as_object().unwrap(), &mut out);
        assert_eq!(
            out,
            "<Message><Attribute><Name>SenderId</Name><Value>s</Value></Attribute>\
             <Body>a&lt;b&#xD;</Body><MessageAttribute><Name>c</Name><Value><DataType>String</DataType>\
             <StringValue>v</StringValue></Value></MessageAttribute><MessageId>m</MessageId></Message>"
        );
    }
}
