//! An SVG backend that draws text as glyph outlines of the embedded font, so a published SVG
//! (and the report's inline copies) looks the same in every viewer and depends on no system font.
//! plotters' own SVG backend writes `<text font-family=...>`, which a viewer renders with whatever
//! fonts it has, or none with Cyrillic glyphs.
//!
//! Everything but text is delegated to [`SVGBackend`]. Text becomes `<path>` elements, collected
//! aside and placed before the closing `</svg>` by [`finish`]: labels sit on top, as they would.

use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

use ab_glyph::{Font, FontRef, OutlineCurve, Point, ScaleFont};
use plotters::prelude::SVGBackend;
use plotters_backend::{
    text_anchor::{HPos, VPos},
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};

/// The SVG backend with text drawn as outlines of `font` (bold text of `bold`).
pub struct OutlinedSvg<'a> {
    inner: SVGBackend<'a>,
    regular: FontRef<'static>,
    bold: FontRef<'static>,
    paths: Rc<RefCell<String>>,
}

impl<'a> OutlinedSvg<'a> {
    /// Draws into `buf`; the glyph paths go to `paths` until [`finish`] joins them.
    pub fn new(
        buf: &'a mut String,
        size: (u32, u32),
        regular: FontRef<'static>,
        bold: FontRef<'static>,
        paths: Rc<RefCell<String>>,
    ) -> Self {
        Self {
            inner: SVGBackend::with_string(buf, size),
            regular,
            bold,
            paths,
        }
    }
}

/// The finished document: `svg` with the glyph paths placed before its closing tag.
pub fn finish(mut svg: String, paths: &str) -> String {
    match svg.rfind("</svg>") {
        Some(end) => {
            svg.insert_str(end, paths);
            svg
        }
        None => svg + paths,
    }
}

fn color(c: BackendColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.rgb.0, c.rgb.1, c.rgb.2)
}

/// One glyph's outline as path data, in pixels with its origin at (`x`, `baseline`).
fn outline_path(
    data: &mut String,
    curves: &[OutlineCurve],
    x: f32,
    baseline: f32,
    sx: f32,
    sy: f32,
) {
    let at = |p: Point| (x + p.x * sx, baseline - p.y * sy);
    let mut current: Option<Point> = None;
    for curve in curves {
        let (start, end) = match *curve {
            OutlineCurve::Line(a, b) => (a, b),
            OutlineCurve::Quad(a, _, b) => (a, b),
            OutlineCurve::Cubic(a, _, _, b) => (a, b),
        };
        if current != Some(start) {
            if current.is_some() {
                data.push('Z');
            }
            let (px, py) = at(start);
            let _ = write!(data, "M{px:.2} {py:.2}");
        }
        match *curve {
            OutlineCurve::Line(_, b) => {
                let (bx, by) = at(b);
                let _ = write!(data, "L{bx:.2} {by:.2}");
            }
            OutlineCurve::Quad(_, c, b) => {
                let ((cx, cy), (bx, by)) = (at(c), at(b));
                let _ = write!(data, "Q{cx:.2} {cy:.2} {bx:.2} {by:.2}");
            }
            OutlineCurve::Cubic(_, c1, c2, b) => {
                let ((ax, ay), (cx, cy), (bx, by)) = (at(c1), at(c2), at(b));
                let _ = write!(data, "C{ax:.2} {ay:.2} {cx:.2} {cy:.2} {bx:.2} {by:.2}");
            }
        }
        current = Some(end);
    }
    if current.is_some() {
        data.push('Z');
    }
}

impl DrawingBackend for OutlinedSvg<'_> {
    type ErrorType = <SVGBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    /// Places the text as plotters' bitmap backend does (the same layout box, anchor and
    /// baseline), so the SVG and PNG of a figure agree.
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let font = match style.style() {
            FontStyle::Bold => &self.bold,
            _ => &self.regular,
        };
        let size = style.size() as f32;
        let scaled = font.as_scaled(size);
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        } - min_x;
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        } - min_y;
        let baseline = dy as f32 + size / 2.0;
        let (sx, sy) = (scaled.h_scale_factor(), scaled.v_scale_factor());
        let mut data = String::new();
        let mut pen = dx as f32;
        let mut previous = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = previous {
                pen += scaled.kern(p, id);
            }
            if let Some(outline) = font.outline(id) {
                outline_path(&mut data, &outline.curves, pen, baseline, sx, sy);
            }
            pen += scaled.h_advance(id);
            previous = Some(id);
        }
        let rotate = match style.transform() {
            FontTransform::None => 0,
            FontTransform::Rotate90 => 90,
            FontTransform::Rotate180 => 180,
            FontTransform::Rotate270 => 270,
        };
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let _ = writeln!(
            self.paths.borrow_mut(),
            "<path transform=\"translate({} {}) rotate({rotate})\" fill=\"{}\" fill-opacity=\"{}\" d=\"{data}\"><title>{escaped}</title></path>",
            pos.0,
            pos.1,
            color(c),
            c.alpha,
        );
        Ok(())
    }
}
