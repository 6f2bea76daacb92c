//! Draws a [`MemoryMap`] as an SVG a person can read at a glance.
//!
//! Layout, top to bottom: title and totals; a legend (one swatch per kind
//! present, with object counts and bytes); an overview of all RAM on one
//! linear address axis; one band per RAM root (its own linear scale, so a
//! 4 KiB root is as readable as a 128 MiB one; the label gives address and
//! size); then device memory apart, with its own colour for free memory:
//! roots that hold something get a band, runs of adjacent untouched device
//! roots share a row of cells (one cell per root, none left out).
//!
//! Nodes narrower than a pixel are not dropped: per pixel column their
//! bytes are summed by kind and drawn as a stacked column, objects at least
//! [`MIN_OBJECT_PX`] high so a lone object in a large free area shows.
//! Leaf boundaries wide enough to see are drawn as thin lines, which shows
//! the binary splits; every drawn piece carries a tooltip (`<title>`).

use std::collections::BTreeMap;

use sel4_core::memory_map::Kind;
use sel4_core::object::ObjectType;
use svg::node::element::{Definitions, Group, Line, Pattern, Rectangle, Text, Title};
use svg::node::Node as _;
use svg::Document;

use crate::picture::dump::{MemoryMap, RootMap};

const WIDTH: f64 = 1280.0;
const MARGIN: f64 = 12.0;
/// Bars start here; the label column is to their left.
const BAR_X: f64 = 250.0;
const BAR_W: f64 = 880.0;
/// Right column (usage) starts here.
const NOTE_X: f64 = BAR_X + BAR_W + 10.0;
const BAND_H: f64 = 16.0;
const ROW: f64 = 22.0;
const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
/// Approximate advance of one character at 11 px in the monospace font.
const CHAR_W: f64 = 6.7;
/// Smallest height of an object's share in an aggregated pixel column.
pub const MIN_OBJECT_PX: f64 = 3.0;
/// Narrowest leaf whose left edge is drawn as a boundary line.
const BOUNDARY_MIN_PX: f64 = 4.0;
/// Objects at least this wide are drawn (and labelled) one by one.
const OWN_RUN_PX: f64 = 24.0;
/// Cells per row for untouched device roots.
const CELLS_PER_ROW: usize = 32;

const FREE_RAM: &str = "#f4f4f4";
const FREE_DEV: &str = "#dfe9f3";
const PAD_FILL: &str = "url(#pad)";

/// Fill of a kind (objects grouped by family: frames blue, paging green,
/// capability storage red, threads orange, IPC purple/pink).
fn fill(kind: Kind, device: bool) -> &'static str {
    match kind {
        Kind::Free | Kind::Split if device => FREE_DEV,
        Kind::Free | Kind::Split => FREE_RAM,
        Kind::Pad => PAD_FILL,
        Kind::Object(t) => match t {
            ObjectType::Untyped => "#bcbd22",
            ObjectType::Tcb => "#ff7f0e",
            ObjectType::Endpoint => "#9467bd",
            ObjectType::Notification => "#e377c2",
            ObjectType::CNode => "#d62728",
            ObjectType::Frame4K => "#1f77b4",
            ObjectType::Frame2M => "#17becf",
            ObjectType::Frame1G => "#0b3c6b",
            ObjectType::PageTable => "#2ca02c",
            ObjectType::PageDirectory => "#7fcf6f",
            ObjectType::Pdpt => "#8c564b",
            ObjectType::Pml4 => "#c49c94",
        },
    }
}

/// Text colour readable on `fill(kind)`.
fn ink(kind: Kind) -> &'static str {
    match kind {
        Kind::Object(ObjectType::Untyped | ObjectType::Frame2M | ObjectType::PageDirectory | ObjectType::Pml4) => {
            "#000"
        }
        Kind::Object(_) => "#fff",
        _ => "#333",
    }
}

/// Draw order of kinds in a stacked pixel column (objects on top).
fn rank(kind: Kind) -> usize {
    match kind {
        Kind::Object(t) => ObjectType::ALL.iter().position(|x| *x == t).unwrap_or(0),
        Kind::Pad => 20,
        Kind::Free | Kind::Split => 21,
    }
}

/// Bytes in the largest binary unit, one decimal unless exact (a value
/// that would round to 1024.0 of a unit is given in the next one).
pub fn human(bytes: u64) -> String {
    let units = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    let Some(i) = units.iter().position(|(_, b)| bytes >= 1u64 << b) else {
        return format!("{bytes} B");
    };
    let (u, b) = units[i];
    if bytes.is_multiple_of(1u64 << b) {
        return format!("{} {u}", bytes >> b);
    }
    let v = bytes as f64 / (1u64 << b) as f64;
    match (format!("{v:.1}").as_str(), i) {
        ("1024.0", 1..) => format!("{:.1} {}", v / 1024.0, units[i - 1].0),
        (s, _) => format!("{s} {u}"),
    }
}

/// A power-of-two size in at most 4 characters (`16B`, `4K`, `512M`).
fn compact(bits: u8) -> String {
    let (v, u) = match bits {
        40.. => (bits - 40, "T"),
        30.. => (bits - 30, "G"),
        20.. => (bits - 20, "M"),
        10.. => (bits - 10, "K"),
        _ => (bits, "B"),
    };
    format!("{}{u}", 1u64 << v)
}

/// Rounds to hundredths so coordinates stay short in the file.
fn r(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn text(x: f64, y: f64, size: f64, s: impl Into<String>) -> Text {
    Text::new(s).set("x", r(x)).set("y", r(y)).set("font-size", size).set("font-family", FONT)
}

fn rect(x: f64, y: f64, w: f64, h: f64, fill: &str) -> Rectangle {
    Rectangle::new().set("x", r(x)).set("y", r(y)).set("width", r(w)).set("height", r(h)).set("fill", fill)
}

/// Counts and bytes per kind, RAM and device apart.
#[derive(Default)]
struct Totals {
    by_kind: BTreeMap<(Kind, bool), (u64, u64)>,
    ram: u64,
    device: u64,
    ram_roots: usize,
    device_roots: usize,
    nodes: usize,
    splits: usize,
}

impl Totals {
    fn of(map: &MemoryMap) -> Totals {
        let mut t = Totals::default();
        for root in &map.roots {
            if root.device {
                t.device += root.size();
                t.device_roots += 1;
            } else {
                t.ram += root.size();
                t.ram_roots += 1;
            }
            t.nodes += root.nodes.len();
            for n in &root.nodes {
                if n.kind == Kind::Split {
                    t.splits += 1;
                    continue;
                }
                let e = t.by_kind.entry((n.kind, root.device)).or_default();
                e.0 += 1;
                e.1 += 1u64 << n.bits;
            }
        }
        t
    }

    fn get(&self, kind: Kind, device: bool) -> (u64, u64) {
        self.by_kind.get(&(kind, device)).copied().unwrap_or_default()
    }

    fn objects(&self, device: bool) -> (u64, u64) {
        self.by_kind
            .iter()
            .filter(|((k, d), _)| *d == device && matches!(k, Kind::Object(_)))
            .fold((0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1))
    }
}

/// `1 leaf`, `2 leaves`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A leaf on an axis: `[start, end)` of some kind, and who holds it if the map says.
#[derive(Copy, Clone)]
struct Piece<'a> {
    start: u64,
    end: u64,
    kind: Kind,
    owner: Option<&'a str>,
}

/// A horizontal bar showing `[lo, hi)` linearly.
struct Bar {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    lo: u64,
    hi: u64,
    device: bool,
    /// Write the type and address into objects wide enough.
    label_objects: bool,
}

impl Bar {
    fn px(&self, addr: u64) -> f64 {
        self.x + (addr.saturating_sub(self.lo)) as f64 / (self.hi - self.lo) as f64 * self.w
    }

    /// Draws `pieces` (address order): runs of one kind wider than a pixel
    /// as rectangles, the rest summed per pixel column.
    fn draw(&self, g: &mut Group, pieces: &[Piece<'_>]) {
        // Merge adjacent pieces of one kind and owner into runs (count kept for tooltips).
        let mut runs: Vec<(Piece<'_>, usize)> = Vec::new();
        for p in pieces {
            let own = matches!(p.kind, Kind::Object(_)) && self.px(p.end) - self.px(p.start) >= OWN_RUN_PX;
            match runs.last_mut() {
                Some((last, n)) if !own && last.kind == p.kind && last.owner == p.owner && last.end == p.start => {
                    last.end = p.end;
                    *n += 1;
                }
                _ => runs.push((*p, 1)),
            }
        }
        let mut columns: BTreeMap<i64, BTreeMap<(usize, Kind), u64>> = BTreeMap::new();
        // Labels go on top of everything, so leaf edges do not cross them.
        let mut on_top = Vec::new();
        for (run, n) in &runs {
            let (x0, x1) = (self.px(run.start), self.px(run.end));
            if x1 - x0 < 1.0 {
                let col = ((x0 + x1) / 2.0).floor() as i64;
                *columns.entry(col).or_default().entry((rank(run.kind), run.kind)).or_default() += run.end - run.start;
                continue;
            }
            let mut el = rect(x0, self.y, x1 - x0, self.h, fill(run.kind, self.device));
            el.append(Title::new(describe(run, *n)));
            g.append(el);
            if let (true, Kind::Object(t)) = (self.label_objects, run.kind) {
                let size = human(run.end - run.start);
                let labels = if *n == 1 {
                    vec![format!("{} {:#x} ({size})", t.name(), run.start), format!("{} {:#x}", t.name(), run.start)]
                } else {
                    vec![format!("{n} × {} ({size})", t.name()), format!("{n} × {}", t.name())]
                };
                let room = x1 - x0 - 6.0;
                let fitting = labels
                    .into_iter()
                    .chain([t.name().to_string()])
                    .find(|s| s.chars().count() as f64 * CHAR_W * 10.0 / 11.0 <= room);
                if let Some(s) = fitting {
                    on_top.push(text(x0 + 3.0, self.y + self.h - 4.5, 10.0, s).set("fill", ink(run.kind)));
                }
            }
        }
        for (col, kinds) in columns {
            self.draw_column(g, col as f64, &kinds);
        }
        // Leaf edges, where there is room to see them.
        for p in pieces {
            let (x0, x1) = (self.px(p.start), self.px(p.end));
            if x1 - x0 >= BOUNDARY_MIN_PX && x0 > self.x + 0.5 {
                g.append(
                    Line::new()
                        .set("x1", r(x0))
                        .set("x2", r(x0))
                        .set("y1", r(self.y))
                        .set("y2", r(self.y + self.h))
                        .set("stroke", if matches!(p.kind, Kind::Object(_)) { "#fff" } else { "#777" })
                        .set("stroke-width", 0.8),
                );
            }
        }
        for l in on_top {
            g.append(l);
        }
    }

    /// One pixel column holding pieces narrower than a pixel: a stack of
    /// kinds by share of bytes, objects at least `MIN_OBJECT_PX` high.
    fn draw_column(&self, g: &mut Group, x: f64, kinds: &BTreeMap<(usize, Kind), u64>) {
        let total: u64 = kinds.values().sum();
        let objects = kinds.keys().filter(|(_, k)| matches!(k, Kind::Object(_))).count() as f64;
        let mut heights: Vec<(Kind, f64, u64)> = kinds
            .iter()
            .map(|(&(_, k), &b)| {
                let share = b as f64 / total as f64 * self.h;
                let h =
                    if matches!(k, Kind::Object(_)) { share.max(MIN_OBJECT_PX.min(self.h / objects)) } else { share };
                (k, h, b)
            })
            .collect();
        // Shrink the rest so the column keeps the bar's height.
        let fixed: f64 = heights.iter().filter(|(k, ..)| matches!(k, Kind::Object(_))).map(|(_, h, _)| h).sum();
        let rest: f64 = heights.iter().filter(|(k, ..)| !matches!(k, Kind::Object(_))).map(|(_, h, _)| h).sum();
        let room = (self.h - fixed).max(0.0);
        if rest > 0.0 {
            for (k, h, _) in heights.iter_mut() {
                if !matches!(k, Kind::Object(_)) {
                    *h *= room / rest;
                }
            }
        }
        let mut y = self.y;
        for (k, h, b) in heights {
            if h <= 0.0 {
                continue;
            }
            let mut el = rect(x, y, 1.0, h, fill(k, self.device));
            el.append(Title::new(format!("{}: {} in this pixel column", k.name(), human(b))));
            g.append(el);
            y += h;
        }
    }
}

fn describe(run: &Piece<'_>, n: usize) -> String {
    let what = match run.kind {
        Kind::Object(t) if n == 1 => format!("{} object", t.name()),
        Kind::Object(t) => format!("{n} {} objects", t.name()),
        Kind::Pad => format!("pad: {n} unused {} of splits", if n == 1 { "half" } else { "halves" }),
        Kind::Free | Kind::Split => format!("free: {n} untyped leaf{}", if n == 1 { "" } else { "s" }),
    };
    let held = run.owner.map(|o| format!(", held by {o}")).unwrap_or_default();
    format!("{what} at {:#x}..{:#x} ({}){held}", run.start, run.end, human(run.end - run.start))
}

fn pieces(root: &RootMap) -> Vec<Piece<'_>> {
    root.leaves().map(|n| Piece { start: n.paddr, end: n.end(), kind: n.kind, owner: n.owner.as_deref() }).collect()
}

/// Colours of owners: core grey, children from a palette in order of name.
const OWNER_FILLS: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"];
const CORE_FILL: &str = "#555";
/// Narrowest object on an owner's row.
const OWNER_MIN_PX: f64 = 2.0;

/// Width of the address labels: enough hex digits for the largest address.
fn addr_digits(map: &MemoryMap) -> usize {
    let max = map.roots.iter().map(|r| r.paddr).max().unwrap_or(0);
    let digits = (64 - max.leading_zeros() as usize).div_ceil(4);
    digits.max(8)
}

struct Canvas {
    g: Group,
    y: f64,
    digits: usize,
}

impl Canvas {
    fn addr(&self, a: u64) -> String {
        format!("0x{a:0w$x}", w = self.digits)
    }

    fn heading(&mut self, s: String) {
        self.y += 10.0;
        self.g.append(text(MARGIN, self.y + 12.0, 13.0, s).set("font-weight", "bold"));
        self.y += 20.0;
    }

    /// Address and size to the left of a bar.
    fn row_label(&mut self, paddr: u64, size: String) {
        self.g.append(text(MARGIN, self.y + BAND_H - 4.0, 11.0, self.addr(paddr)));
        self.g.append(
            text(MARGIN + (self.digits as f64 + 3.0) * CHAR_W, self.y + BAND_H - 4.0, 11.0, size).set("fill", "#444"),
        );
    }

    fn note(&mut self, s: String) {
        self.g.append(text(NOTE_X, self.y + BAND_H - 4.0, 11.0, s).set("fill", "#444"));
    }

    fn root_band(&mut self, root: &RootMap) {
        self.row_label(root.paddr, human(root.size()));
        let bar = Bar {
            x: BAR_X,
            y: self.y,
            w: BAR_W,
            h: BAND_H,
            lo: root.paddr,
            hi: root.end(),
            device: root.device,
            label_objects: true,
        };
        let mut frame = rect(BAR_X, self.y, BAR_W, BAND_H, fill(Kind::Free, root.device))
            .set("class", "root")
            .set("stroke", "#888")
            .set("stroke-width", 0.8);
        if root.device {
            frame = frame.set("stroke-dasharray", "4 2");
        }
        self.g.append(frame);
        bar.draw(&mut self.g, &pieces(root));
        let (n, bytes) = root
            .leaves()
            .filter(|l| matches!(l.kind, Kind::Object(_)))
            .fold((0, 0u64), |a, l| (a.0 + 1, a.1 + (1u64 << l.bits)));
        self.note(match n {
            0 if root.untouched() => "untouched".into(),
            0 => "no objects".into(),
            1 => format!("1 object, {}", percent(bytes, root.size())),
            n => format!("{n} objects, {}", percent(bytes, root.size())),
        });
        self.y += ROW;
    }

    /// Adjacent untouched device roots as rows of equal cells.
    fn untouched_run(&mut self, run: &[&RootMap]) {
        for chunk in run.chunks(CELLS_PER_ROW) {
            let total: u64 = chunk.iter().map(|r| r.size()).sum();
            self.row_label(chunk[0].paddr, human(total));
            let cell = (BAR_W / CELLS_PER_ROW as f64).min(BAR_W / chunk.len() as f64);
            for (i, root) in chunk.iter().enumerate() {
                let x = BAR_X + i as f64 * cell;
                let mut el = rect(x, self.y, cell, BAND_H, FREE_DEV)
                    .set("class", "root")
                    .set("stroke", "#888")
                    .set("stroke-width", 0.8)
                    .set("stroke-dasharray", "4 2");
                el.append(Title::new(format!(
                    "device untyped {:#x}..{:#x} ({}), untouched",
                    root.paddr,
                    root.end(),
                    human(root.size())
                )));
                self.g.append(el);
                let s = compact(root.bits);
                if s.len() as f64 * CHAR_W * 9.0 / 11.0 + 4.0 <= cell {
                    self.g.append(text(x + 2.0, self.y + BAND_H - 4.5, 9.0, s).set("fill", "#445"));
                }
            }
            self.note(format!("{} untouched", chunk.len()));
            self.y += ROW;
        }
    }

    /// All RAM on one linear axis, with ticks.
    fn overview(&mut self, ram: &[&RootMap]) {
        let (Some(first), Some(last)) = (ram.first(), ram.last()) else { return };
        let (lo, hi) = (first.paddr, last.end());
        self.g.append(text(MARGIN, self.y + 20.0, 11.0, "all RAM, linear"));
        self.g.append(
            text(MARGIN, self.y + 34.0, 11.0, format!("{}..{}", self.addr(lo), self.addr(hi))).set("fill", "#444"),
        );
        let bar = Bar { x: BAR_X, y: self.y, w: BAR_W, h: 28.0, lo, hi, device: false, label_objects: false };
        // Gaps between roots are not RAM: hatched background.
        self.g.append(rect(BAR_X, self.y, BAR_W, bar.h, "url(#gap)"));
        let all: Vec<Piece<'_>> = ram.iter().flat_map(|r| pieces(r)).collect();
        bar.draw(&mut self.g, &all);
        self.g.append(rect(BAR_X, self.y, BAR_W, bar.h, "none").set("stroke", "#888").set("stroke-width", 0.8));
        // Root edges above the bar.
        for root in ram {
            let x = bar.px(root.paddr);
            self.g.append(
                Line::new()
                    .set("x1", r(x))
                    .set("x2", r(x))
                    .set("y1", r(self.y - 4.0))
                    .set("y2", r(self.y))
                    .set("stroke", "#333"),
            );
        }
        // Ticks at a power-of-two step giving about 8 labels.
        let span = hi - lo;
        let step = (span / 8).max(1).next_power_of_two();
        let mut a = lo.div_ceil(step) * step;
        let y = self.y + bar.h;
        while a <= hi {
            let x = bar.px(a);
            self.g.append(
                Line::new().set("x1", r(x)).set("x2", r(x)).set("y1", r(y)).set("y2", r(y + 4.0)).set("stroke", "#333"),
            );
            let label = format!("{a:#x}");
            let w = label.len() as f64 * CHAR_W * 9.0 / 11.0;
            self.g.append(
                text((x - w / 2.0).clamp(BAR_X - 20.0, BAR_X + BAR_W - w + 20.0), y + 14.0, 9.0, label)
                    .set("fill", "#444"),
            );
            a += step;
        }
        self.y += bar.h + 26.0;
    }
}

impl Canvas {
    /// Objects by owner (when the map names owners): one row per owner (core, each child, each
    /// child's session) on one linear axis over all RAM, each object at least
    /// [`OWNER_MIN_PX`] wide, with the owner's object count and bytes.
    fn owners(&mut self, ram: &[&RootMap]) {
        let mut by_owner: BTreeMap<(bool, &str), Vec<(u64, u64)>> = BTreeMap::new();
        for n in ram.iter().flat_map(|r| r.leaves()) {
            if let (Kind::Object(_), Some(o)) = (n.kind, n.owner.as_deref()) {
                by_owner.entry((o != "core", o)).or_default().push((n.paddr, n.end()));
            }
        }
        let (Some(first), Some(last)) = (ram.first(), ram.last()) else { return };
        if by_owner.is_empty() {
            return;
        }
        let children = by_owner.keys().filter(|(child, o)| *child && !o.contains(':')).count();
        self.heading(format!(
            "Who holds what: core and {}, each object on one linear axis over all RAM",
            count(children as u64, "child", "children")
        ));
        let bar = Bar {
            x: BAR_X,
            y: 0.0,
            w: BAR_W,
            h: BAND_H,
            lo: first.paddr,
            hi: last.end(),
            device: false,
            label_objects: false,
        };
        // A child's sessions share the child's colour.
        let mut fills: BTreeMap<&str, &str> = BTreeMap::new();
        let mut palette = OWNER_FILLS.iter().cycle();
        for ((is_child, owner), objects) in &by_owner {
            let child = owner.split_once(':').map_or(*owner, |(c, _)| c);
            let fill = match is_child {
                false => CORE_FILL,
                true => fills.entry(child).or_insert_with(|| palette.next().copied().unwrap_or(CORE_FILL)),
            };
            // A session's row is indented under its child's.
            let (indent, label) = match owner.split_once(':') {
                Some((_, session)) => (2.0 * CHAR_W, format!("session {session}")),
                None => (0.0, owner.to_string()),
            };
            self.g.append(text(MARGIN + indent, self.y + BAND_H - 4.0, 11.0, label));
            self.g.append(rect(BAR_X, self.y, BAR_W, BAND_H, FREE_RAM).set("stroke", "#888").set("stroke-width", 0.8));
            let bytes: u64 = objects.iter().map(|(a, b)| b - a).sum();
            for &(start, end) in objects {
                let x0 = bar.px(start);
                let w = (bar.px(end) - x0).max(OWNER_MIN_PX);
                let mut el = rect(x0, self.y, w, BAND_H, fill);
                el.append(Title::new(format!("{owner}: object at {start:#x}..{end:#x} ({})", human(end - start))));
                self.g.append(el);
            }
            self.note(format!("{}, {}", count(objects.len() as u64, "object", "objects"), human(bytes)));
            self.y += ROW;
        }
    }
}

fn defs() -> Definitions {
    // pad: light grey with diagonal stripes; gap (no RAM): white with sparse hatching.
    let pad = Pattern::new()
        .set("id", "pad")
        .set("patternUnits", "userSpaceOnUse")
        .set("width", 6)
        .set("height", 6)
        .set("patternTransform", "rotate(45)")
        .add(rect(0.0, 0.0, 6.0, 6.0, "#e2e2e2"))
        .add(rect(0.0, 0.0, 2.5, 6.0, "#b8b8b8"));
    let gap = Pattern::new()
        .set("id", "gap")
        .set("patternUnits", "userSpaceOnUse")
        .set("width", 8)
        .set("height", 8)
        .set("patternTransform", "rotate(-45)")
        .add(rect(0.0, 0.0, 8.0, 8.0, "#fff"))
        .add(rect(0.0, 0.0, 1.0, 8.0, "#ccc"));
    Definitions::new().add(pad).add(gap)
}

/// One legend entry: swatch, name, description.
fn legend_entry(g: &mut Group, x: f64, y: f64, swatch: &str, name: &str, what: String) {
    g.append(rect(x, y, 14.0, 12.0, swatch).set("stroke", "#666").set("stroke-width", 0.6));
    g.append(text(x + 20.0, y + 10.5, 11.0, format!("{name} {what}")));
}

/// The picture of `map`; `title` goes on top.
pub fn render(map: &MemoryMap, title: &str) -> Document {
    let t = Totals::of(map);
    let mut c = Canvas { g: Group::new(), y: 0.0, digits: addr_digits(map) };
    c.g.append(
        Text::new(title)
            .set("x", MARGIN)
            .set("y", 26)
            .set("font-size", 17)
            .set("font-weight", "bold")
            .set("font-family", FONT),
    );
    let (ram_objs, ram_obj_bytes) = t.objects(false);
    let (dev_objs, dev_obj_bytes) = t.objects(true);
    let pad_bytes = t.get(Kind::Pad, false).1 + t.get(Kind::Pad, true).1;
    c.g.append(text(
        MARGIN,
        46.0,
        11.0,
        format!(
            "RAM {} in {}: {} use {} ({}), free {}, pad {}",
            human(t.ram),
            count(t.ram_roots as u64, "untyped", "untypeds"),
            count(ram_objs, "object", "objects"),
            human(ram_obj_bytes),
            percent(ram_obj_bytes, t.ram),
            human(t.get(Kind::Free, false).1),
            human(t.get(Kind::Pad, false).1),
        ),
    ));
    c.g.append(text(
        MARGIN,
        62.0,
        11.0,
        format!(
            "device memory {} in {}: {} use {};  untyped tree: {} nodes, {} splits, pad {} in all",
            human(t.device),
            count(t.device_roots as u64, "untyped", "untypeds"),
            count(dev_objs, "object", "objects"),
            human(dev_obj_bytes),
            t.nodes,
            t.splits,
            human(pad_bytes),
        ),
    ));
    // Legend: objects present, then pad and free.
    let mut entries: Vec<(String, &str, String)> = Vec::new();
    for ty in ObjectType::ALL {
        let k = Kind::Object(ty);
        let (n, b) = (t.get(k, false).0 + t.get(k, true).0, t.get(k, false).1 + t.get(k, true).1);
        if n > 0 {
            entries.push((
                ty.name().into(),
                fill(k, false),
                format!("{}, {}", count(n, "object", "objects"), human(b)),
            ));
        }
    }
    if entries.is_empty() {
        entries.push(("no objects".into(), "none", String::new()));
    }
    let (pn, pb) = (t.get(Kind::Pad, false).0 + t.get(Kind::Pad, true).0, pad_bytes);
    entries.push((
        "pad".into(),
        PAD_FILL,
        format!("(unused half of a split) {}, {}", count(pn, "leaf", "leaves"), human(pb)),
    ));
    let (fr, frb) = t.get(Kind::Free, false);
    entries.push(("free RAM".into(), FREE_RAM, format!("{}, {}", count(fr, "leaf", "leaves"), human(frb))));
    let (fd, fdb) = t.get(Kind::Free, true);
    entries.push(("free device".into(), FREE_DEV, format!("{}, {}", count(fd, "leaf", "leaves"), human(fdb))));
    let ram_roots = map.roots.iter().filter(|r| !r.device).count();
    if ram_roots > 1 {
        entries.push(("not RAM".into(), "url(#gap)", "(between RAM untypeds, overview only)".into()));
    }
    let col_w = (WIDTH - 2.0 * MARGIN) / 3.0;
    let mut legend = Group::new().set("class", "legend");
    for (i, (name, sw, what)) in entries.iter().enumerate() {
        let (col, row) = (i % 3, i / 3);
        legend_entry(&mut legend, MARGIN + col as f64 * col_w, 76.0 + row as f64 * 18.0, sw, name, what.clone());
    }
    c.g.append(legend);
    c.y = 76.0 + entries.len().div_ceil(3) as f64 * 18.0 + 10.0;
    c.g.append(text(
        MARGIN,
        c.y + 8.0,
        10.0,
        "Each band is one untyped root on its own linear scale. Thin lines: untyped leaves; pixel columns mixing kinds show their shares (objects at least 3 px).",
    )
    .set("fill", "#555"));
    c.y += 18.0;

    let ram: Vec<&RootMap> = map.roots.iter().filter(|r| !r.device).collect();
    let dev: Vec<&RootMap> = map.roots.iter().filter(|r| r.device).collect();
    c.heading(format!("RAM: {}, {}", count(ram.len() as u64, "untyped", "untypeds"), human(t.ram)));
    // With one root the overview would repeat its band.
    if ram.len() > 1 {
        c.y += 6.0;
        c.overview(&ram);
    }
    for root in &ram {
        c.root_band(root);
    }
    c.owners(&ram);
    if !dev.is_empty() {
        c.heading(format!("Device memory: {}, {}", count(dev.len() as u64, "untyped", "untypeds"), human(t.device)));
    }
    let mut i = 0;
    while i < dev.len() {
        if dev[i].untouched() {
            let mut j = i + 1;
            while j < dev.len() && dev[j].untouched() && dev[j].paddr == dev[j - 1].end() {
                j += 1;
            }
            if j - i >= 2 {
                c.untouched_run(&dev[i..j]);
                i = j;
                continue;
            }
        }
        c.root_band(dev[i]);
        i += 1;
    }
    let height = c.y + MARGIN;
    Document::new()
        .set("width", WIDTH)
        .set("height", r(height))
        .set("viewBox", (0, 0, WIDTH, r(height)))
        .add(defs())
        .add(rect(0.0, 0.0, WIDTH, height, "#fff"))
        .add(c.g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::picture::dump;

    fn seed() -> String {
        let m = dump::parse(
            "map begin\nmap root 0x0 13 ram\nmap 0x0 13 split\nmap 0x0 12 split\nmap 0x0 11 split\n\
             map 0x0 10 cnode\nmap 0x400 10 cnode\nmap 0x800 11 cnode\nmap 0x1000 12 frame_4k\n\
             map root 0xb8000 12 dev\nmap 0xb8000 12 free\nmap end\n",
        )
        .unwrap();
        render(&m, "seed").to_string()
    }

    #[test]
    fn owners_get_a_row_each_and_tooltips_name_them() {
        let m = dump::parse(
            "map begin\nmap root 0x0 13 ram\nmap 0x0 13 split\nmap 0x0 12 split\nmap 0x0 11 split\n\
             map 0x0 10 cnode core\nmap 0x400 10 cnode hello\nmap 0x800 11 cnode hello:0x10000\n\
             map 0x1000 12 frame_4k ram-demo:0x20001\nmap end\n",
        )
        .unwrap();
        let s = render(&m, "owners").to_string();
        assert!(s.contains("Who holds what: core and 1 child"), "{s}");
        assert!(s.contains("cnode object at 0x400..0x800 (1 KiB), held by hello"));
        assert!(s.contains("hello:0x10000: object at 0x800..0x1000 (2 KiB)"));
        assert!(s.contains("session 0x20001"), "a session row");
        // Without owners there is no such section.
        assert!(!seed().contains("Who holds what"));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(0x2000), "8 KiB");
        assert_eq!(human(533_331_968), "508.6 MiB");
        assert_eq!(human(16), "16 B");
        assert_eq!(human((1 << 30) - 4096), "1.0 GiB");
        assert_eq!(human((1 << 20) - 16), "1.0 MiB");
        assert_eq!(compact(4), "16B");
        assert_eq!(compact(21), "2M");
        assert_eq!(compact(45), "32T");
    }

    #[test]
    fn seed_picture_has_legend_and_the_cnode_at_0x400() {
        let s = seed();
        assert!(s.contains("cnode 0x400"), "label of the CNode at 0x400");
        assert!(s.contains("cnode object at 0x400..0x800 (1 KiB)"), "tooltip of the CNode at 0x400");
        assert!(s.contains("cnode 3 objects, 4 KiB"), "legend: three CNodes");
        assert!(s.contains("frame_4k 1 object, 4 KiB"), "legend: one frame");
        assert!(s.contains("pad (unused half of a split) 0 leaves, 0 B"), "legend: pad");
        assert!(s.contains("free device 1 leaf, 4 KiB"));
        assert!(s.contains("RAM 8 KiB in 1 untyped: 4 objects use 8 KiB (100.0%)"));
        assert!(s.contains("Device memory: 1 untyped, 4 KiB"));
        // Device roots are drawn dashed; the document parses as SVG.
        assert!(s.contains("stroke-dasharray"));
        let mut n = 0;
        for ev in svg::read(&s).unwrap() {
            if let svg::parser::Event::Error(e) = ev {
                panic!("{e:?}");
            }
            n += 1;
        }
        assert!(n > 20);
    }

    /// Dump lines of the tree under `[paddr, 2^bits)`: `leaf` names the kind
    /// of a leaf, `None` splits.
    fn tree(out: &mut String, paddr: u64, bits: u8, leaf: &dyn Fn(u64, u8) -> Option<&'static str>) {
        match leaf(paddr, bits) {
            Some(kind) => *out += &format!("map {paddr:#x} {bits} {kind}\n"),
            None => {
                *out += &format!("map {paddr:#x} {bits} split\n");
                tree(out, paddr, bits - 1, leaf);
                tree(out, paddr + (1u64 << (bits - 1)), bits - 1, leaf);
            }
        }
    }

    fn one_root(bits: u8, leaf: &dyn Fn(u64, u8) -> Option<&'static str>) -> String {
        let mut lines = format!("map begin\nmap root 0x40000000 {bits} ram\n");
        tree(&mut lines, 0x40000000, bits, leaf);
        lines += "map end\n";
        render(&dump::parse(&lines).unwrap(), "t").to_string()
    }

    #[test]
    fn tiny_nodes_are_summed_per_pixel_not_dropped() {
        // A 1 GiB root with one 4 KiB frame at its base, 2^18 times narrower
        // than the bar; the halves split off on the way are pad.
        let s = one_root(30, &|a, b| match (a - 0x40000000, b) {
            (0, 12) => Some("frame_4k"),
            (0, _) => None,
            _ => Some("pad"),
        });
        assert!(s.contains("frame_4k: 4 KiB in this pixel column"), "aggregated column keeps the frame");
        assert!(s.contains("pad: 18 unused halves of splits at 0x40001000..0x80000000 (1.0 GiB)"), "pad run");
    }

    #[test]
    fn a_lone_object_among_tiny_free_leaves_keeps_a_visible_height() {
        // The first 64 KiB of a 1 GiB root in 4 KiB leaves: one frame, 15
        // free (used before); the frame's byte share of its pixel column is
        // under a pixel, it is drawn MIN_OBJECT_PX high.
        let s = one_root(30, &|a, b| match (a - 0x40000000, b) {
            (0, 12) => Some("frame_4k"),
            (o, 12) if o < 0x10000 => Some("free"),
            (o, b) if o < 0x10000 && b > 12 => None,
            (0, _) => None,
            _ => Some("pad"),
        });
        assert!(s.contains("frame_4k: 4 KiB in this pixel column"));
        assert!(s.contains("free: 60 KiB in this pixel column"));
        assert!(s.contains(&format!("height=\"{MIN_OBJECT_PX}\"")), "frame drawn at the minimum height");
    }

    #[test]
    fn real_boot_map_draws_every_root() {
        let m = dump::parse(include_str!("../../maps/qemu-512m-demo.map")).unwrap();
        assert_eq!(m.roots.len(), 137);
        // Device untypeds above 2^39 are aligned by their kernel virtual address only.
        assert!(m.roots.iter().any(|r| r.device && r.paddr == 0x18000000000 && r.bits == 40));
        let s = render(&m, "demo").to_string();
        assert_eq!(s.matches("class=\"root\"").count(), 137, "one band or cell per root");
        assert!(s.contains("RAM: 31 untypeds, 473.5 MiB"));
        assert!(s.contains("Device memory: 106 untypeds, 128.0 TiB"));
    }

    #[test]
    fn every_untouched_device_root_gets_a_cell() {
        let mut lines = String::from("map begin\n");
        let mut a = 0x100000000u64;
        for bits in 20..60u8 {
            let bits = bits.min(45);
            lines += &format!("map root {a:#x} {bits} dev\nmap {a:#x} {bits} free\n");
            a += 1u64 << bits;
        }
        lines += "map end\n";
        let m = dump::parse(&lines).unwrap();
        assert_eq!(m.roots.len(), 40);
        let s = render(&m, "dev").to_string();
        assert_eq!(s.matches(", untouched</title>").count(), 40);
        assert_eq!(s.matches("class=\"root\"").count(), 40);
        assert!(s.contains("\n32 untouched\n"), "first row of cells");
        assert!(s.contains("\n8 untouched\n"), "second row of cells");
    }
}
