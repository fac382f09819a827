//! The HTML of the pages: `/` (sign-in landing), `/browse` (banner, rows, details
//! modal) and `/search`, plus the 404 page.
//!
//! maud escapes every string it is given, in text and attributes alike, so a title
//! containing `<script>` shows as text. Functions here take what to show and return
//! markup: no fetching, no state. The details modal is filled by the page script
//! from a card's `data-title` (the [`Title`] as JSON), with `textContent` only.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::assets;
use crate::media::{Image, MediaType, Title};

/// A row of `/browse` as the page shows it.
#[derive(Debug)]
pub struct RowView<'a> {
    pub title: std::borrow::Cow<'a, str>,
    /// Tall poster cards (the "Only on Nextflix" row) rather than wide ones.
    pub tall: bool,
    /// The titles, or what to say when the catalog gave none.
    pub items: Result<Vec<Title>, String>,
}

/// The frame of every page: head, navigation bar, content, footer.
fn layout(page_title: &str, nav_search: bool, query: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="dark";
                meta name="theme-color" content="#141414";
                title { (page_title) }
                link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url("app.css"));
                // Not deferred: it must see images fail from the first one on.
                script src=(assets::url("app.js")) {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if nav_search {
                    (navbar(query))
                }
                (body)
                footer.footer {
                    p { "Nextflix: a simple Netflix clone, for learning. Titles and overviews from the catalog; artwork drawn when images cannot load." }
                }
            }
        }
    }
}

fn navbar(query: &str) -> Markup {
    html! {
        header.nav #nav {
            a.nav__logo href="/browse" aria-label="Nextflix home" { "NEXTFLIX" }
            nav.nav__links aria-label="Sections" {
                a href="/browse" { "Home" }
                a href="/browse#row-only-on-nextflix" { "TV Shows" }
                a href="/browse#row-action" { "Movies" }
                a href="/search" { "Search" }
            }
            form.nav__search role="search" action="/search" method="get" {
                label.visually-hidden for="search-input" { "Search titles" }
                span.nav__search-icon aria-hidden="true" { (PreEscaped(SEARCH_ICON)) }
                input #search-input type="search" name="q" value=(query)
                    placeholder="Titles" autocomplete="off" spellcheck="false"
                    aria-controls="search-results";
            }
            span.nav__avatar aria-hidden="true" {}
        }
    }
}

const PLAY_ICON: &str = r#"<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M6 4l15 8-15 8z" fill="currentColor"/></svg>"#;
const INFO_ICON: &str = r#"<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2.2"><circle cx="12" cy="12" r="9.5"/><path d="M12 11v6M12 7.2v.1" stroke-linecap="round"/></svg>"#;
const PLUS_ICON: &str = r#"<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"><path d="M12 5v14M5 12h14"/></svg>"#;
const THUMB_ICON: &str = r#"<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"><path d="M7 10v10H4V10zM7 10l4-7c1.7 0 2.6 1.1 2.2 2.8L12.6 9H19a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.8 20H7"/></svg>"#;
const SEARCH_ICON: &str = r#"<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"><circle cx="10.5" cy="10.5" r="6.5"/><path d="M15.5 15.5 21 21"/></svg>"#;

/// An image with its artwork fallback (the page script swaps it in on error).
fn image(img: &Image, alt: &str, class: &str, lazy: bool) -> Markup {
    html! {
        img class=(class) src=(img.src) data-fallback=(img.fallback) alt=(alt)
            loading=[lazy.then_some("lazy")] decoding="async";
    }
}

/// A title as JSON for the page script.
fn title_json(title: &Title) -> String {
    serde_json::to_string(title).unwrap_or_else(|_| "{}".to_owned())
}

/// One card: a button, so that it is focusable and Enter or a click opens details.
pub fn card(title: &Title, tall: bool) -> Markup {
    let img = if tall { &title.poster } else { &title.backdrop };
    html! {
        button.card.card--tall[tall] type="button" data-title=(title_json(title))
            aria-label={ (title.title) ": details" } {
            span.card__frame {
                (image(img, &title.title, "card__img", true))
            }
            span.card__info {
                span.card__title { (title.title) }
                span.card__meta {
                    span.match { (title.match_percent) "% match" }
                    @if let Some(year) = &title.year { span.card__year { (year) } }
                }
                span.card__genres {
                    @for genre in &title.genres { span.genre { (genre) } }
                }
            }
        }
    }
}

fn grid(titles: &[Title]) -> Markup {
    html! {
        div.grid {
            @for t in titles { (card(t, false)) }
        }
    }
}

/// The details modal, empty until the script fills it.
fn modal() -> Markup {
    html! {
        div.modal #details hidden {
            div.modal__overlay data-close {}
            div.modal__panel role="dialog" aria-modal="true" aria-labelledby="details-title" {
                button.modal__close type="button" data-close aria-label="Close details" { "✕" }
                div.modal__hero {
                    img.modal__img #details-img alt="";
                    div.modal__hero-text {
                        h2.modal__title #details-title {}
                        div.modal__actions {
                            button.btn.btn--play type="button" { (PreEscaped(PLAY_ICON)) "Play" }
                            button.icon-btn type="button" aria-label="Add to My List" title="Add to My List" { (PreEscaped(PLUS_ICON)) }
                            button.icon-btn type="button" aria-label="Like" title="Like" { (PreEscaped(THUMB_ICON)) }
                            button.icon-btn.icon-btn--down type="button" aria-label="Dislike" title="Dislike" { (PreEscaped(THUMB_ICON)) }
                        }
                    }
                }
                div.modal__body {
                    p.modal__meta {
                        span.match #details-match {}
                        span #details-year {}
                        span.badge #details-kind {}
                    }
                    p.modal__overview #details-overview {}
                    p.modal__genres { span.muted { "Genres: " } span #details-genres {} }
                }
            }
        }
    }
}

/// The search results section every page with a search box has.
fn search_section(hidden: bool, body: Markup) -> Markup {
    html! {
        section.search-results #search-results hidden[hidden] aria-live="polite" aria-label="Search results" {
            (body)
        }
    }
}

/// `/`: the sign-in landing page; `wall` is a few titles for the background.
pub fn landing(wall: &[Title]) -> Markup {
    let body = html! {
        main.landing #main {
            div.landing__wall aria-hidden="true" {
                @for t in wall { (image(&t.poster, "", "landing__poster", false)) }
            }
            div.landing__shade {}
            header.landing__top {
                span.nav__logo.nav__logo--big { "NEXTFLIX" }
            }
            div.landing__card {
                h1 { "Nextflix" }
                p.landing__tagline { "A simple Netflix clone" }
                p.muted { "Unlimited films and series, right here. Sign in to start watching." }
                a.btn.btn--red.btn--big #sign-in href="/browse" { "Sign in" }
            }
        }
    };
    layout("Nextflix", false, "", body)
}

/// `/browse`: the banner, the rows and the details modal.
pub fn browse(banner: Option<&Title>, rows: &[RowView<'_>]) -> Markup {
    let body = html! {
        main #main {
            div #content {
                @if let Some(b) = banner {
                    section.banner aria-label="Featured" {
                        (image(&b.banner, &b.title, "banner__img", false))
                        div.banner__fade {}
                        div.banner__text {
                            h1.banner__title { (b.title) }
                            p.banner__meta {
                                span.match { (b.match_percent) "% match" }
                                @if let Some(year) = &b.year { span { (year) } }
                            }
                            p.banner__overview { (b.overview) }
                            div.banner__buttons {
                                button.btn.btn--play type="button" { (PreEscaped(PLAY_ICON)) "Play" }
                                button.btn.btn--grey #more-info type="button" data-title=(title_json(b)) { (PreEscaped(INFO_ICON)) "More Info" }
                            }
                        }
                    }
                } @else {
                    section.banner.banner--empty aria-label="Featured" {
                        div.banner__text { h1.banner__title { "Nextflix" } p.banner__overview { "The catalog cannot be reached right now." } }
                    }
                }
                div.rows {
                    @for row in rows {
                        section.row id={ "row-" (slug(&row.title)) } aria-label=(row.title.as_ref()) {
                            h2.row__title { (row.title.as_ref()) }
                            @match &row.items {
                                Ok(items) if !items.is_empty() => {
                                    div.row__scroller {
                                        button.row__arrow.row__arrow--left type="button" aria-label={ "Scroll " (row.title.as_ref()) " left" } tabindex="-1" { "‹" }
                                        div.row__track {
                                            @for t in items { (card(t, row.tall)) }
                                        }
                                        button.row__arrow.row__arrow--right type="button" aria-label={ "Scroll " (row.title.as_ref()) " right" } tabindex="-1" { "›" }
                                    }
                                }
                                Ok(_) => { p.row__empty { "Nothing here yet." } }
                                Err(message) => { p.row__empty.error { (message) } }
                            }
                        }
                    }
                }
            }
            (search_section(true, html! {}))
            (modal())
        }
    };
    layout("Nextflix", true, "", body)
}

/// `/search`: results for `query` (already fetched when there is one), refreshed
/// by the page script as the visitor types.
pub fn search(
    query: &str,
    media_type: Option<MediaType>,
    results: Option<&Result<Vec<Title>, String>>,
) -> Markup {
    let selected = media_type.map_or("", MediaType::as_str);
    let body = html! {
        main.search-page #main {
            div.search-page__head {
                h1 { "Search" }
                div.chips role="radiogroup" aria-label="Kind of title" {
                    @for (value, label) in [("", "All"), ("movie", "Movies"), ("tv", "TV Shows")] {
                        button.chip type="button" role="radio" data-type=(value)
                            aria-checked=(if value == selected { "true" } else { "false" }) { (label) }
                    }
                }
            }
            (search_section(false, html! {
                @match results {
                    None => { p.search-hint { "Type a title in the search box: results appear as you type." } }
                    Some(Ok(items)) if items.is_empty() => {
                        p.search-hint { "No titles match “" (query) "”." }
                    }
                    Some(Ok(items)) => {
                        h2.search-results__title { "Results for “" (query) "”" }
                        (grid(items))
                    }
                    Some(Err(message)) => { p.search-hint.error { (message) } }
                }
            }))
            (modal())
        }
    };
    let page_title = if query.is_empty() {
        "Search - Nextflix".to_owned()
    } else {
        format!("{query} - Search - Nextflix")
    };
    layout(&page_title, true, query, body)
}

/// Any unknown page.
pub fn not_found(path: &str) -> Markup {
    let body = html! {
        main.lost #main {
            h1 { "Lost your way?" }
            p { "There is no page at " code { (path) } "." }
            a.btn.btn--red href="/browse" { "Nextflix Home" }
        }
    };
    layout("Page not found - Nextflix", true, "", body)
}

/// `Only on Nextflix` → `only-on-nextflix`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Images, Record};

    #[test]
    fn catalog_strings_are_escaped() {
        let record = Record::from_value(
            serde_json::json!({"id": 1, "title": "<script>alert(1)</script>", "overview": "\"><img src=x onerror=alert(2)>", "genre_ids": [35]}),
            MediaType::Movie,
        )
        .unwrap();
        let title = Images::new("https://img.test/").title(&record);
        let rows = [RowView {
            title: "Comedies".into(),
            tall: false,
            items: Ok(vec![title.clone()]),
        }];
        let page = browse(Some(&title), &rows).into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(slug("TV Sci-Fi and Horror"), "tv-sci-fi-and-horror");
    }
}
