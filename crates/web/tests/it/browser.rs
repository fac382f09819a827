//! The pages in a real headless Chromium (through chromedriver): sign in, rows,
//! details modal and its event, search as you type, and artwork when images cannot
//! load. Screenshots go to `artifacts/`.

use fantoccini::Locator;
use serde_json::Value;

use crate::support::{
    BROWSER_LOCK, Browser, Catalog, Moto, Web, config, create_bucket, create_queue, create_topic,
    free_port, get_object, receive_one, unwrap_notification,
};

const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

const ROW_TITLES: [&str; 7] = [
    "Only on Nextflix",
    "Comedies",
    "Action",
    "TV Sci-Fi and Horror",
    "Mystery Movies",
    "Animation",
    "Drama",
];

/// Waits until the details modal is open (or closed).
async fn wait_modal(browser: &Browser, open: bool, what: &str) {
    let expression = if open {
        "!document.getElementById('details').hidden"
    } else {
        "document.getElementById('details').hidden"
    };
    browser.wait_for_js(expression, what).await;
}

#[tokio::test]
async fn sign_in_browse_open_details_and_the_event_is_delivered() {
    let _one = BROWSER_LOCK.lock().await;
    let catalog = Catalog::builtin().await;
    let moto = Moto::start().await;
    let sdk = moto.sdk().await;
    create_bucket(&sdk, "nextflix-events").await;
    let (queue, queue_arn) = create_queue(&sdk, "recommendation").await;
    let topic = create_topic(&sdk, "netflix-events-topic", &[&queue_arn]).await;
    let web = Web::start(nextflix_web::Config {
        s3_bucket: Some("nextflix-events".to_owned()),
        sns_topic_arn: Some(topic),
        ..moto.web_config(&catalog.url())
    })
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // Sign in.
    c.goto(&web.url("/")).await.unwrap();
    let landing = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(landing, "Nextflix");
    c.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_js("location.pathname === '/browse'", "the browse page")
        .await;

    // The banner and the seven rows, filled.
    let titles = browser
        .js("[...document.querySelectorAll('.row__title')].map(h => h.textContent)")
        .await;
    assert_eq!(titles, serde_json::json!(ROW_TITLES));
    let counts = browser
        .js("[...document.querySelectorAll('.row')].map(r => r.querySelectorAll('.card').length)")
        .await;
    for count in counts.as_array().unwrap() {
        assert!(count.as_u64().unwrap() > 0, "{counts}");
    }
    let banner = c
        .find(Locator::Css(".banner__title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!banner.is_empty());
    // A card: image with alt text, title, % match, at most three genres.
    let card = browser
        .js(
            "(() => { const c = document.querySelector('#row-comedies .card'); return {
            alt: c.querySelector('img').alt, title: c.querySelector('.card__title').textContent,
            match: c.querySelector('.match').textContent,
            genres: [...c.querySelectorAll('.genre')].map(g => g.textContent) }; })()",
        )
        .await;
    assert_eq!(card["alt"], card["title"]);
    assert!(
        card["match"].as_str().unwrap().ends_with("% match"),
        "{card}"
    );
    let genres = card["genres"].as_array().unwrap();
    assert!(!genres.is_empty() && genres.len() <= 3, "{card}");
    assert!(genres.contains(&Value::from("Comedy")), "{card}");
    // Every image ends up showing something (artwork here: no image paths).
    browser
        .wait_for_js(
            "[...document.querySelectorAll('#row-comedies img, .banner img')].slice(0, 5).every(i => i.complete && i.naturalWidth > 0)",
            "the first images to load",
        )
        .await;
    browser.screenshot("web-browse.png").await;

    // Open a title's details from its card.
    let comedy = c.find(Locator::Css("#row-comedies .card")).await.unwrap();
    let data: Value =
        serde_json::from_str(&comedy.attr("data-title").await.unwrap().unwrap()).unwrap();
    comedy.click().await.unwrap();
    wait_modal(&browser, true, "the modal").await;
    let text = |id: &'static str| {
        let browser = &browser;
        async move {
            browser
                .js(&format!("document.getElementById('{id}').textContent"))
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    assert_eq!(text("details-title").await, data["title"].as_str().unwrap());
    assert_eq!(
        text("details-match").await,
        format!("{}% Match", data["match"])
    );
    assert_eq!(
        text("details-overview").await,
        data["overview"].as_str().unwrap()
    );
    assert!(text("details-genres").await.contains("Comedy"));
    for label in ["Add to My List", "Like", "Dislike"] {
        let found = c
            .find(Locator::Css(&format!(".modal [aria-label='{label}']")))
            .await;
        assert!(found.is_ok(), "{label}");
    }
    assert!(text("details-year").await.len() == 4);
    browser
        .wait_for_js(
            "(() => { const i = document.getElementById('details-img'); return i.complete && i.naturalWidth > 0; })()",
            "the modal's backdrop",
        )
        .await;
    let activity = browser
        .wait_for_js("document.body.dataset.lastActivity", "the analytics answer")
        .await;
    browser
        .wait_for_js(
            "document.getAnimations().every(a => a.playState !== 'running')",
            "the modal's animation to end",
        )
        .await;
    browser.screenshot("web-details-modal.png").await;

    // The event reached the queue (through the topic) and the bucket.
    let session = c.get_named_cookie("session_id").await.unwrap();
    let session = session.value().to_owned();
    let event = unwrap_notification(&receive_one(&sdk, &queue).await);
    assert_eq!(event["mediaId"], data["id"]);
    assert_eq!(event["sessionId"], session.as_str());
    assert_eq!(event["activityId"], activity);
    let (_, stored) = get_object(
        &sdk,
        "nextflix-events",
        &format!("{session}/{}.json", activity.as_str().unwrap()),
    )
    .await;
    assert_eq!(serde_json::from_slice::<Value>(&stored).unwrap(), event);

    // Escape closes the modal and gives focus back to the card.
    c.active_element()
        .await
        .unwrap()
        .send_keys(ESCAPE)
        .await
        .unwrap();
    wait_modal(&browser, false, "Escape to close").await;
    let focused = browser
        .js("document.activeElement.classList.contains('card')")
        .await;
    assert_eq!(focused, Value::Bool(true));
    // Enter on a focused card opens it; the cross closes it.
    c.active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    wait_modal(&browser, true, "Enter to open").await;
    c.find(Locator::Css(".modal__close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_modal(&browser, false, "the cross to close").await;
    // More Info opens the banner's title; a click on the overlay closes it.
    browser
        .js("(() => { window.scrollTo(0, 0); return true; })()")
        .await;
    c.find(Locator::Id("more-info"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_modal(&browser, true, "More Info").await;
    assert_eq!(text("details-title").await, banner);
    let clicked = browser
        .js("(() => { const e = document.elementFromPoint(5, innerHeight - 5); e.click(); return e.className; })()")
        .await;
    assert_eq!(clicked, "modal__overlay");
    wait_modal(&browser, false, "the overlay to close").await;

    // Keyboard: Tab reaches the cards.
    let reachable = browser
        .js("[...document.querySelectorAll('.card')].every(c => c.tabIndex === 0 && c.tagName === 'BUTTON')")
        .await;
    assert_eq!(reachable, Value::Bool(true));

    // Phone width: still one column of rows scrolling sideways, no page overflow.
    c.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .js("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
        .await;
    assert_eq!(overflow, Value::Bool(true));
    browser.screenshot("web-browse-phone.png").await;
    browser.close().await;
}

#[tokio::test]
async fn search_as_you_type_then_open_a_result() {
    let _one = BROWSER_LOCK.lock().await;
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&web.url("/browse")).await.unwrap();
    let input = c.find(Locator::Id("search-input")).await.unwrap();
    input.send_keys("amel").await.unwrap();
    browser
        .wait_for_js(
            "document.querySelector('#search-results .card .card__title')?.textContent",
            "results as you type",
        )
        .await;
    let first = browser
        .js("document.querySelector('#search-results .card .card__title').textContent")
        .await;
    assert_eq!(first, "Amélie");
    assert_eq!(
        browser
            .js("document.getElementById('content').hidden")
            .await,
        Value::Bool(true)
    );
    assert_eq!(
        browser.js("location.pathname + location.search").await,
        "/search?q=amel"
    );
    browser.screenshot("web-search.png").await;
    c.find(Locator::Css("#search-results .card"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_modal(&browser, true, "the modal").await;
    assert_eq!(
        browser
            .js("document.getElementById('details-title').textContent")
            .await,
        "Amélie"
    );
    c.active_element()
        .await
        .unwrap()
        .send_keys(ESCAPE)
        .await
        .unwrap();
    wait_modal(&browser, false, "Escape").await;

    // Clearing the box brings the rows back.
    let input = c.find(Locator::Id("search-input")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(" ").await.unwrap();
    browser
        .wait_for_js(
            "!document.getElementById('content').hidden",
            "the rows again",
        )
        .await;

    // The search page itself, with a type filter; nothing found is said so.
    c.goto(&web.url("/search?q=office")).await.unwrap();
    let count = browser
        .js("document.querySelectorAll('#search-results .card').length")
        .await;
    assert!(count.as_u64().unwrap() > 0);
    c.find(Locator::Css(".chip[data-type='tv']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_js("location.search === '?q=office&type=tv'", "the TV filter")
        .await;
    let input = c.find(Locator::Id("search-input")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys("zzqqxx").await.unwrap();
    browser
        .wait_for_js(
            "document.querySelector('#search-results .search-hint')?.textContent.includes('zzqqxx')",
            "no results",
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn artwork_shows_when_images_cannot_load() {
    let _one = BROWSER_LOCK.lock().await;
    // The original data has image paths; the image host does not answer.
    let catalog = Catalog::shared().await;
    let web = Web::start(nextflix_web::Config {
        image_url: format!("http://127.0.0.1:{}/t/p/", free_port()),
        ..config(&catalog.url())
    })
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&web.url("/browse")).await.unwrap();
    // The page asks for the real images and shows the generated artwork instead.
    browser
        .wait_for_js(
            "[...document.querySelectorAll('#row-comedies .card img, .banner img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0 && i.currentSrc.includes('/artwork/'))",
            "the artwork fallback",
        )
        .await;
    let broken = browser
        .js("[...document.querySelectorAll('img')].filter(i => i.complete && i.naturalWidth === 0 && i.getAttribute('src')).length")
        .await;
    assert_eq!(broken, 0, "no broken images once the page has settled");
    browser.screenshot("web-offline-artwork.png").await;
    browser.close().await;
}
