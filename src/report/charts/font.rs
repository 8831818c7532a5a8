//! The one font of every chart, embedded: the machines that run this often have no fonts at all.
//! DejaVu Sans, Bitstream Vera licence (see `assets/README.md`).

use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

pub static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// Registers the font as `sans-serif` (the family the charts ask for) on first use.
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded font assets/DejaVuSans.ttf is not a usable TrueType font".to_string())
        })
        .clone()
}
