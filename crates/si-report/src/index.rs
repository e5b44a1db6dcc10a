//! The figure index: one `index.html` showing every figure with its caption, settings and numbers.

use std::path::Path;

use serde::{Deserialize, Serialize};
use si_data::write_atomic;

use crate::error::Result;

/// One figure as the index shows it. Modules that make figures in another process write these as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FigureEntry {
    /// Figure number in docs/figures.md.
    pub number: u32,
    /// Short title.
    pub title: String,
    /// Image files relative to the output folder.
    pub files: Vec<String>,
    /// What the figure shows.
    pub caption: String,
    /// Settings that made it (sizes, steps, seeds).
    pub settings: String,
    /// Numbers it reports: (name, value).
    pub numbers: Vec<(String, String)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `index.html` (and `figures.json`) under `out`, atomically.
pub fn write_index(out: &Path, entries: &[FigureEntry], command: &str) -> Result<()> {
    let mut entries = entries.to_vec();
    entries.sort_by_key(|e| e.number);
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Stochastic interpolants: figures</title>\
         <style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}img{max-width:100%;border:1px solid #ddd}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}.s{color:#555;font-size:90%}</style></head><body>",
    );
    html.push_str(&format!(
        "<h1>Stochastic interpolants: reproduced figures</h1><p>Made by <code>{}</code>.</p>",
        escape(command)
    ));
    for e in &entries {
        html.push_str(&format!(
            "<h2 id=\"fig{n}\">Figure {n}. {}</h2>",
            escape(&e.title),
            n = e.number
        ));
        for f in &e.files {
            html.push_str(&format!(
                "<p><img src=\"{}\" alt=\"{}\"></p>",
                escape(f),
                escape(&e.title)
            ));
        }
        html.push_str(&format!("<p>{}</p>", escape(&e.caption)));
        html.push_str(&format!(
            "<p class=\"s\">Settings: {}</p>",
            escape(&e.settings)
        ));
        if !e.numbers.is_empty() {
            html.push_str("<table><tr><th>quantity</th><th>value</th></tr>");
            for (k, v) in &e.numbers {
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(k),
                    escape(v)
                ));
            }
            html.push_str("</table>");
        }
    }
    html.push_str("</body></html>\n");
    write_atomic(&out.join("index.html"), html.as_bytes())?;
    write_atomic(
        &out.join("figures.json"),
        serde_json::to_string_pretty(&entries)?.as_bytes(),
    )?;
    Ok(())
}
