//! Generated artwork: an SVG for a title whose image is missing or cannot load
//! (no path in the record, no internet). The title over a gradient whose colours,
//! angle and light are picked from the title's id, so that a title always looks the
//! same and neighbours look different.
//!
//! Pure functions of (type, id, title, kind): the route in [`crate::api`] only
//! parses the URL. The title is XML-escaped here and nowhere else.

use crate::media::{ArtKind, MediaType};

/// Longest title drawn, in characters; longer ones end with an ellipsis.
const MAX_TITLE_CHARS: usize = 90;

/// Background pairs (top-left, bottom-right): deep, saturated, and light text reads
/// well on every one of them.
const PALETTES: &[(&str, &str)] = &[
    ("#8e0e00", "#1f1c18"),
    ("#5b0eeb", "#120428"),
    ("#0f4c75", "#0b132b"),
    ("#b24592", "#2a0845"),
    ("#c0392b", "#2c0b0e"),
    ("#136a8a", "#1b1035"),
    ("#d35400", "#2d0f02"),
    ("#1d976c", "#06241b"),
    ("#4568dc", "#1a1440"),
    ("#9d50bb", "#1c0f2e"),
    ("#e52d27", "#3a0a0a"),
    ("#2c7744", "#0c1f14"),
    ("#c94b4b", "#1c1f3a"),
    ("#0575e6", "#021b79"),
    ("#7b4397", "#dc2430"),
    ("#16222a", "#3a6073"),
];

/// FNV-1a: a small, stable hash (the same on every machine and release).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Escapes text for an SVG text node or attribute.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The layout of one kind of artwork.
struct Layout {
    width: u32,
    height: u32,
    /// Font size the title starts from, and the smallest it may shrink to.
    font: (u32, u32),
    max_lines: usize,
    /// Fraction of the width the title may use.
    text_width: f64,
}

fn layout(kind: ArtKind) -> Layout {
    match kind {
        ArtKind::Poster => Layout {
            width: 400,
            height: 600,
            font: (64, 30),
            max_lines: 5,
            text_width: 0.84,
        },
        ArtKind::Backdrop => Layout {
            width: 640,
            height: 360,
            font: (60, 28),
            max_lines: 3,
            text_width: 0.84,
        },
        ArtKind::Banner => Layout {
            width: 1280,
            height: 720,
            font: (120, 56),
            max_lines: 3,
            text_width: 0.5,
        },
    }
}

/// Width of a character relative to the font size, for a bold condensed sans.
fn char_width(c: char) -> f64 {
    match c {
        'i' | 'l' | 'I' | '.' | ',' | '\'' | ':' | ';' | '!' | '|' => 0.28,
        ' ' => 0.3,
        'm' | 'w' | 'M' | 'W' => 0.82,
        c if c.is_uppercase() => 0.62,
        c if c.is_ascii() => 0.52,
        // CJK and other wide scripts.
        _ => 0.9,
    }
}

fn text_width(s: &str, font: f64) -> f64 {
    s.chars().map(char_width).sum::<f64>() * font
}

/// Greedy word wrap; a word wider than the line is cut. Also says whether a word
/// had to be cut.
fn wrap(title: &str, font: f64, max_width: f64) -> (Vec<String>, bool) {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut cut = false;
    for word in title.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, font) <= max_width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: cut it into pieces that fit.
        for c in word.chars() {
            if !line.is_empty() && text_width(&format!("{line}{c}"), font) > max_width {
                lines.push(std::mem::take(&mut line));
                cut = true;
            }
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    (lines, cut)
}

/// The largest font (in steps of 2) whose wrapped title fits without cutting a
/// word, and its lines; at the smallest font, what fits, ending in an ellipsis.
fn fit(title: &str, l: &Layout) -> (u32, Vec<String>) {
    let max_width = f64::from(l.width) * l.text_width;
    let mut font = l.font.0;
    loop {
        let (mut lines, cut) = wrap(title, f64::from(font), max_width);
        if (lines.len() <= l.max_lines && !cut) || font <= l.font.1 {
            if lines.len() > l.max_lines {
                lines.truncate(l.max_lines);
                if let Some(last) = lines.last_mut() {
                    last.push('…');
                }
            }
            return (font, lines);
        }
        font -= 2;
    }
}

/// The SVG of a title's artwork.
pub fn svg(media_type: MediaType, id: i64, title: &str, kind: ArtKind) -> String {
    let title: String = {
        let trimmed = title.trim();
        let shown = if trimmed.is_empty() {
            "Untitled"
        } else {
            trimmed
        };
        let mut t: String = shown.chars().take(MAX_TITLE_CHARS).collect();
        if shown.chars().count() > MAX_TITLE_CHARS {
            t.push('…');
        }
        t
    };
    let hash = fnv1a(format!("{}:{id}", media_type.as_str()).as_bytes());
    let (from, to) = PALETTES[(hash % PALETTES.len() as u64) as usize];
    let l = layout(kind);
    let (w, h) = (f64::from(l.width), f64::from(l.height));
    // Gradient direction and where the light falls, from further bits of the hash.
    let angle = (hash >> 8) % 4;
    let (x1, y1, x2, y2) = [(0, 0, 1, 1), (1, 0, 0, 1), (0, 0, 0, 1), (0, 0, 1, 0)][angle as usize];
    let glow_x = 0.15 + ((hash >> 16) % 70) as f64 / 100.0;
    let glow_y = 0.1 + ((hash >> 24) % 40) as f64 / 100.0;
    let ring = 0.35 + ((hash >> 32) % 30) as f64 / 100.0;
    let (font, lines) = fit(&title, &l);
    let font_f = f64::from(font);
    let line_height = font_f * 1.05;
    let block = line_height * lines.len() as f64;
    let label = match media_type {
        MediaType::Movie => "FILM",
        MediaType::Tv => "SERIES",
    };

    let (anchor, text_x, first_baseline, opacity) = match kind {
        // Lower part of the poster, centred, like a film poster's title block.
        ArtKind::Poster => (
            "middle",
            w / 2.0,
            h * 0.66 - block / 2.0 + font_f * 0.8,
            1.0,
        ),
        ArtKind::Backdrop => ("middle", w / 2.0, h / 2.0 - block / 2.0 + font_f * 0.8, 1.0),
        // Behind the banner's own text (left): large and soft at the right.
        ArtKind::Banner => ("end", w * 0.94, h * 0.42 - block / 2.0 + font_f * 0.8, 0.14),
    };

    let mut out = String::with_capacity(3000);
    out.push_str(&format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{aria}" preserveAspectRatio="xMidYMid slice">"##,
        aria = xml_escape(&title),
    ));
    out.push_str(&format!(
        r##"<defs><linearGradient id="bg" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"><stop offset="0" stop-color="{from}"/><stop offset="1" stop-color="{to}"/></linearGradient><radialGradient id="glow" cx="{glow_x:.2}" cy="{glow_y:.2}" r="0.7"><stop offset="0" stop-color="#fff" stop-opacity="0.28"/><stop offset="0.5" stop-color="#fff" stop-opacity="0.06"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></radialGradient><linearGradient id="shade" x1="0" y1="0" x2="0" y2="1"><stop offset="0.45" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.65"/></linearGradient></defs>"##
    ));
    out.push_str(r##"<rect width="100%" height="100%" fill="url(#bg)"/>"##);
    out.push_str(r##"<rect width="100%" height="100%" fill="url(#glow)"/>"##);
    // Two soft rings: a little depth, different for every title.
    let r = w.max(h) * ring;
    out.push_str(&format!(
        r##"<g fill="none" stroke="#fff" stroke-opacity="0.07"><circle cx="{cx:.0}" cy="{cy:.0}" r="{r:.0}" stroke-width="{sw:.0}"/><circle cx="{cx:.0}" cy="{cy:.0}" r="{r2:.0}" stroke-width="{sw2:.0}"/></g>"##,
        cx = w * (1.0 - glow_x),
        cy = h * (1.0 - glow_y),
        r2 = r * 0.62,
        sw = w / 40.0,
        sw2 = w / 90.0,
    ));
    out.push_str(r##"<rect width="100%" height="100%" fill="url(#shade)"/>"##);
    if kind != ArtKind::Banner {
        // The house mark, as on the service's own titles.
        let size = w * 0.09;
        out.push_str(&format!(
            r##"<text x="{x:.0}" y="{y:.0}" font-family="Bebas Neue, Impact, Arial Narrow, Arial, sans-serif" font-weight="900" font-size="{size:.0}" fill="#e50914">N</text><text x="{lx:.0}" y="{y:.0}" font-family="Helvetica, Arial, sans-serif" font-weight="700" font-size="{ls:.0}" letter-spacing="{sp:.1}" fill="#fff" fill-opacity="0.85">{label}</text>"##,
            x = w * 0.05,
            y = w * 0.05 + size * 0.8,
            lx = w * 0.05 + size * 0.88,
            ls = size * 0.38,
            sp = size * 0.08,
        ));
    }
    out.push_str(&format!(
        r##"<g font-family="Bebas Neue, Impact, Arial Narrow, Helvetica, Arial, sans-serif" font-weight="800" font-size="{font}" fill="#fff" fill-opacity="{opacity}" text-anchor="{anchor}" letter-spacing="{sp:.1}">"##,
        sp = font_f * 0.02,
    ));
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&format!(
            r##"<text x="{text_x:.0}" y="{y:.0}">{}</text>"##,
            xml_escape(line),
            y = first_baseline + line_height * i as f64,
        ));
    }
    out.push_str("</g>");
    if kind != ArtKind::Banner {
        // A short red rule under the title.
        let y = first_baseline + line_height * (lines.len() as f64 - 1.0) + font_f * 0.45;
        let rule = w * 0.16;
        out.push_str(&format!(
            r##"<rect x="{x:.0}" y="{y:.0}" width="{rule:.0}" height="{t:.0}" rx="{t:.0}" fill="#e50914"/>"##,
            x = w / 2.0 - rule / 2.0,
            t = (w / 130.0).max(2.0),
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_escaped_and_art_is_stable() {
        let a = svg(
            MediaType::Movie,
            42,
            "<script>alert(1)</script> & Co",
            ArtKind::Poster,
        );
        assert!(!a.contains("<script"));
        assert!(a.contains("&lt;script&gt;"));
        assert!(a.contains("&amp; Co"));
        assert_eq!(
            a,
            svg(
                MediaType::Movie,
                42,
                "<script>alert(1)</script> & Co",
                ArtKind::Poster
            )
        );
        let other = svg(
            MediaType::Tv,
            42,
            "<script>alert(1)</script> & Co",
            ArtKind::Poster,
        );
        assert_ne!(a, other);
    }

    #[test]
    fn long_titles_wrap_within_the_lines_allowed() {
        let l = layout(ArtKind::Backdrop);
        let (_, lines) = fit(
            "The Extraordinary Adventures of a Very Long Title That Goes On and On Forever",
            &l,
        );
        assert!(lines.len() <= l.max_lines);
        let (font, lines) = fit("Up", &l);
        assert_eq!(font, l.font.0);
        assert_eq!(lines, ["Up"]);
        // Words are not cut while a smaller font can fit them whole.
        let (font, lines) = fit("Extraordinary Attorney Woo", &layout(ArtKind::Poster));
        assert!(font < layout(ArtKind::Poster).font.0);
        assert!(
            lines.iter().any(|line| line.contains("Extraordinary")),
            "{lines:?}"
        );
        let (_, lines) = fit("Supercalifragilisticexpialidocious-and-more", &l);
        assert!(lines.len() > 1);
    }
}
