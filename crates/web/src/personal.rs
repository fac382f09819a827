//! The rows made for one visitor from the services' work: "Recently viewed" (the
//! user service's history of the session), "Because you watched …" (the
//! recommendation service) and "Trending now". Read over the services' small
//! HTTP APIs; records come from the catalog. A service that is not configured,
//! down or slow only means its row is left out: the page never waits long on it.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::CatalogClient;
use crate::media::{Images, MediaType, Title};
use crate::pages::RowView;

/// How many titles a personal row shows.
const ROW_LENGTH: usize = 12;

/// The services the web reads from; each is optional.
#[derive(Debug, Clone)]
pub struct ServicesClient {
    http: reqwest::Client,
    recommendation: Option<String>,
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(rename = "mediaId")]
    media_id: Value,
    #[serde(rename = "type")]
    media_type: Option<String>,
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ServicesClient {
    pub fn new(recommendation: Option<&str>, user: Option<&str>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(800))
            .connect_timeout(Duration::from_millis(300))
            .build()?;
        let base = |u: Option<&str>| {
            u.map(|u| u.trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty())
        };
        Ok(ServicesClient {
            http,
            recommendation: base(recommendation),
            user: base(user),
        })
    }

    async fn get(&self, url: String) -> Option<Value> {
        match self.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            Ok(r) => {
                tracing::warn!(%url, status = r.status().as_u16(), "a service answered with an error");
                None
            }
            Err(err) => {
                tracing::warn!(%url, %err, "a service cannot be reached");
                None
            }
        }
    }

    /// The personal rows for `session`, in page order, each only if it has titles.
    pub async fn rows(
        &self,
        session: &str,
        catalog: &CatalogClient,
        images: &Images,
    ) -> Vec<RowView<'static>> {
        let session = form_urlencoded::byte_serialize(session.as_bytes()).collect::<String>();
        let history = async {
            match &self.user {
                Some(u) => {
                    self.get(format!(
                        "{u}/history?sessionId={session}&limit={ROW_LENGTH}"
                    ))
                    .await
                }
                None => None,
            }
        };
        let because = async {
            match &self.recommendation {
                Some(r) => {
                    self.get(format!(
                        "{r}/recommendations?sessionId={session}&limit={ROW_LENGTH}"
                    ))
                    .await
                }
                None => None,
            }
        };
        let trending = async {
            match &self.recommendation {
                Some(r) => self.get(format!("{r}/trending?limit={ROW_LENGTH}")).await,
                None => None,
            }
        };
        let (history, because, trending) = tokio::join!(history, because, trending);
        let mut rows = Vec::new();
        if let Some(items) = history.as_ref().and_then(|h| h.get("items")) {
            let titles = titles(items, catalog, images).await;
            push(&mut rows, Cow::Borrowed("Recently viewed"), titles);
        }
        if let Some(list) = because
            .as_ref()
            .and_then(|b| b.get("rows"))
            .and_then(Value::as_array)
        {
            for row in list.iter().take(2) {
                let Some(title) = row.pointer("/because/title").and_then(Value::as_str) else {
                    continue;
                };
                let heading = Cow::Owned(format!("Because you watched {title}"));
                let titles = titles(&row["items"], catalog, images).await;
                push(&mut rows, heading, titles);
            }
        }
        if let Some(items) = trending.as_ref().and_then(|t| t.get("items")) {
            let titles = titles(items, catalog, images).await;
            push(&mut rows, Cow::Borrowed("Trending now"), titles);
        }
        rows
    }
}

fn push(rows: &mut Vec<RowView<'static>>, title: Cow<'static, str>, items: Vec<Title>) {
    if !items.is_empty() {
        rows.push(RowView {
            title,
            tall: false,
            items: Ok(items),
        });
    }
}

/// The catalog records of a list of `{mediaId, type?}`, in order, fetched at once;
/// a title the catalog does not know is left out.
async fn titles(items: &Value, catalog: &CatalogClient, images: &Images) -> Vec<Title> {
    let Some(items) = items.as_array() else {
        return Vec::new();
    };
    let wanted: Vec<Item> = items
        .iter()
        .filter_map(|i| serde_json::from_value(i.clone()).ok())
        .take(ROW_LENGTH)
        .collect();
    let tasks: Vec<_> = wanted
        .iter()
        .filter_map(|item| {
            let id = id_of(&item.media_id)?;
            let kinds = match item.media_type.as_deref().and_then(MediaType::parse) {
                Some(kind) => vec![kind],
                None => vec![MediaType::Movie, MediaType::Tv],
            };
            let catalog = catalog.clone();
            Some(tokio::spawn(async move {
                for kind in kinds {
                    if let Ok(Some(record)) = catalog.media(kind, &id).await {
                        return Some(record);
                    }
                }
                None
            }))
        })
        .collect();
    let mut titles = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(Some(record)) = task.await {
            titles.push(images.title(&record));
        }
    }
    titles
}
