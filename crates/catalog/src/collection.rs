//! The records of one media type and the indexes that answer requests without
//! scanning: by id, and the `/discover` answer of every genre, built at load.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use rand::Rng;

use crate::media::{MediaType, Record};
use crate::search::Query;

/// How many records `/discover` answers with.
pub const PAGE: usize = 20;

/// The records of one media type, in data-file order, with their indexes.
#[derive(Debug, Clone)]
pub struct Collection {
    media_type: MediaType,
    records: Vec<Record>,
    by_key: HashMap<String, usize>,
    /// The `/discover?genre=` answer for every genre that some record has.
    by_genre: HashMap<i64, Bytes>,
    genre_counts: BTreeMap<i64, usize>,
}

impl Collection {
    pub fn new(media_type: MediaType, records: Vec<Record>) -> Self {
        let by_key = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.clone(), i))
            .collect();
        let mut collection = Collection {
            media_type,
            records,
            by_key,
            by_genre: HashMap::new(),
            genre_counts: BTreeMap::new(),
        };
        collection.index_genres();
        collection
    }

    fn index_genres(&mut self) {
        let mut matches: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for (i, record) in self.records.iter().enumerate() {
            let mut seen: Vec<i64> = Vec::with_capacity(record.genre_ids.len());
            for &genre in &record.genre_ids {
                if seen.contains(&genre) {
                    continue;
                }
                seen.push(genre);
                *counts.entry(genre).or_default() += 1;
                let rows = matches.entry(genre).or_default();
                if rows.len() < PAGE {
                    rows.push(i);
                }
            }
        }
        self.by_genre = matches
            .into_iter()
            .map(|(genre, rows)| (genre, self.json_array(rows.into_iter())))
            .collect();
        self.genre_counts = counts;
    }

    fn json_array(&self, rows: impl Iterator<Item = usize>) -> Bytes {
        let items: Vec<&Bytes> = rows.map(|i| &self.records[i].json).collect();
        json_array(&items)
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records in data-file order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record stored under `key` (the id as a string).
    pub fn get(&self, key: &str) -> Option<&Record> {
        self.by_key.get(key).map(|&i| &self.records[i])
    }

    /// `/discover` without a genre: [`PAGE`] records picked at random (all of them,
    /// shuffled, when there are fewer).
    pub fn random_page(&self, rng: &mut impl Rng) -> Bytes {
        let len = self.records.len();
        if len <= 2 * PAGE {
            let picked = rand::seq::index::sample(rng, len, PAGE.min(len));
            return self.json_array(picked.into_iter());
        }
        // Far more records than picks: draw until PAGE distinct ones, which
        // rarely repeats and needs no per-request index table.
        let mut picked = [0usize; PAGE];
        let mut n = 0;
        while n < PAGE {
            let i = rng.random_range(0..len);
            if !picked[..n].contains(&i) {
                picked[n] = i;
                n += 1;
            }
        }
        self.json_array(picked.into_iter())
    }

    /// `/discover?genre=`: the first [`PAGE`] records, in file order, that have it.
    pub fn genre_page(&self, genre: i64) -> Bytes {
        self.by_genre
            .get(&genre)
            .cloned()
            .unwrap_or_else(|| Bytes::from_static(b"[]"))
    }

    /// How many records have each genre.
    pub fn genre_counts(&self) -> &BTreeMap<i64, usize> {
        &self.genre_counts
    }

    /// A copy with one record's popularity changed; `None` if `key` is unknown.
    pub fn with_popularity(&self, key: &str, popularity: f64) -> Option<Collection> {
        let &i = self.by_key.get(key)?;
        let mut records = self.records.clone();
        records[i] = records[i].with_popularity(popularity);
        Some(Collection::new(self.media_type, records))
    }

    /// Records whose title matches, with their rank (lower is better).
    pub fn search<'a, 'q>(
        &'a self,
        query: &'q Query,
    ) -> impl Iterator<Item = (u8, &'a Record)> + use<'a, 'q> {
        self.records
            .iter()
            .filter_map(move |r| r.search_key.rank(query).map(|rank| (rank, r)))
    }
}

/// Joins pre-serialized JSON values into one JSON array.
pub fn json_array(items: &[&Bytes]) -> Bytes {
    let len: usize = items.iter().map(|b| b.len() + 1).sum::<usize>() + 2;
    let mut out = Vec::with_capacity(len);
    out.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::parse;
    use serde_json::Value;

    fn collection(n: usize) -> Collection {
        let text = (0..n)
            .map(|i| {
                let genres = if i % 2 == 0 { "[18, 35]" } else { "[18]" };
                format!(r#""{i}": {{"id": {i}, "title": "T{i}", "genre_ids": {genres}}}"#)
            })
            .collect::<Vec<_>>()
            .join(",");
        Collection::new(
            MediaType::Movie,
            parse(MediaType::Movie, "t", &format!("{{{text}}}")).unwrap(),
        )
    }

    fn ids(bytes: &Bytes) -> Vec<i64> {
        let v: Vec<Value> = serde_json::from_slice(bytes).unwrap();
        v.iter().map(|r| r["id"].as_i64().unwrap()).collect()
    }

    #[test]
    fn genre_page_is_the_first_twenty_in_file_order() {
        let c = collection(50);
        assert_eq!(ids(&c.genre_page(18)), (0..20).collect::<Vec<_>>());
        assert_eq!(
            ids(&c.genre_page(35)),
            (0..40).step_by(2).collect::<Vec<_>>()
        );
        assert_eq!(&c.genre_page(99)[..], b"[]");
        assert_eq!(c.genre_counts()[&18], 50);
    }

    #[test]
    fn random_page_has_twenty_distinct_records() {
        let c = collection(50);
        let mut got = ids(&c.random_page(&mut rand::rng()));
        assert_eq!(got.len(), 20);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 20);
        let small = collection(5);
        assert_eq!(ids(&small.random_page(&mut rand::rng())).len(), 5);
        assert_eq!(&collection(0).random_page(&mut rand::rng())[..], b"[]");
    }

    #[test]
    fn popularity_change_reaches_the_genre_pages() {
        let c = collection(3).with_popularity("1", 9.5).unwrap();
        let v: Vec<Value> = serde_json::from_slice(&c.genre_page(18)).unwrap();
        assert_eq!(v[1]["popularity"], 9.5);
        assert!(collection(3).with_popularity("7", 1.0).is_none());
    }
}
