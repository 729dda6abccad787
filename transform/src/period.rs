use std::fmt;

use serde::{Deserialize, Serialize};

/// The granularity of a [`Period`], stored beside it so that `2020` (a year) and `2020-01` (a month)
/// are never compared as strings of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    Year,
    Quarter,
    Month,
    Date,
    /// Months from January (or another month) to a month of the same year, cumulated: «январь-март»,
    /// «9 месяцев». Never to be mixed with single months.
    Months,
    HalfYear,
    /// A school or season year, «2000/2001».
    SchoolYear,
}

impl PeriodType {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodType::Year => "year",
            PeriodType::Quarter => "quarter",
            PeriodType::Month => "month",
            PeriodType::Date => "date",
            PeriodType::Months => "months",
            PeriodType::HalfYear => "half_year",
            PeriodType::SchoolYear => "school_year",
        }
    }
}

/// A reporting period: a year, a quarter, a month, or a point in time (e.g. «на 1 января»).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u8),
    Month(i32, u8),
    Date(chrono::NaiveDate),
    /// Months `first..=last` of a year, cumulated.
    Months(i32, u8, u8),
    HalfYear(i32, u8),
    /// The school or season year starting in the given year.
    SchoolYear(i32),
}

impl Period {
    pub fn period_type(&self) -> PeriodType {
        match self {
            Period::Year(_) => PeriodType::Year,
            Period::Quarter(..) => PeriodType::Quarter,
            Period::Month(..) => PeriodType::Month,
            Period::Date(_) => PeriodType::Date,
            Period::Months(..) => PeriodType::Months,
            Period::HalfYear(..) => PeriodType::HalfYear,
            Period::SchoolYear(_) => PeriodType::SchoolYear,
        }
    }

    /// The calendar year the period falls in.
    pub fn year(&self) -> i32 {
        use chrono::Datelike;
        match *self {
            Period::Year(y)
            | Period::Quarter(y, _)
            | Period::Month(y, _)
            | Period::Months(y, ..)
            | Period::HalfYear(y, _)
            | Period::SchoolYear(y) => y,
            Period::Date(d) => d.year(),
        }
    }

    /// Parses the canonical text form written by [`fmt::Display`]: `2005`, `2020-Q1`, `2020-03`,
    /// `2020-01-01`, `2020-01/2020-03` (cumulated months), `2020-H1`, `2000/2001`.
    pub fn parse(text: &str) -> Option<Period> {
        let t = text.trim();
        if let Some((a, b)) = t.split_once('/') {
            if let (Ok(y), Ok(next)) = (a.parse::<i32>(), b.parse::<i32>()) {
                return (next == y + 1).then_some(Period::SchoolYear(y));
            }
            let (Period::Month(y, m1), Period::Month(y2, m2)) =
                (Period::parse(a)?, Period::parse(b)?)
            else {
                return None;
            };
            return (y == y2 && m1 < m2).then_some(Period::Months(y, m1, m2));
        }
        if let Some((y, h)) = t.split_once("-H") {
            let h: u8 = h.parse().ok()?;
            return (1..=2)
                .contains(&h)
                .then_some(Period::HalfYear(y.parse().ok()?, h));
        }
        if let Some((y, q)) = t.split_once("-Q") {
            let q: u8 = q.parse().ok()?;
            return (1..=4)
                .contains(&q)
                .then_some(Period::Quarter(y.parse().ok()?, q));
        }
        match t.split('-').count() {
            1 => t.parse().ok().map(Period::Year),
            2 => {
                let (y, m) = t.split_once('-')?;
                let m: u8 = m.parse().ok()?;
                (1..=12)
                    .contains(&m)
                    .then_some(Period::Month(y.parse().ok()?, m))
            }
            3 => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(Period::Date),
            _ => None,
        }
    }

    /// Reads a period header as Rosstat writes it: `2005`, `2005.0`, `1998г.`, `2020 г.`,
    /// `2009 год` (the monthly monitoring workbooks), a school or season year `2000/2001`.
    /// Only years from 1900 to 2100 count, so that stray numbers in a header row are not taken for years.
    pub fn from_header_text(text: &str) -> Option<Period> {
        let t = strip_footnote_mark(text.trim()).0;
        let t = t.trim().trim_end_matches('.').trim_end();
        let t = ["года", "год", "гг", "г"]
            .iter()
            .find_map(|w| t.strip_suffix(w))
            .unwrap_or(t)
            .trim_end();
        let t = strip_footnote_mark(t).0.trim();
        if let Some((a, b)) = t.split_once('/') {
            let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return ((1900..=2100).contains(&a) && b == a + 1).then_some(Period::SchoolYear(a));
        }
        let year: i32 = t.parse().ok()?;
        (1900..=2100).contains(&year).then_some(Period::Year(year))
    }

    pub fn from_header_number(n: f64) -> Option<Period> {
        (n.fract() == 0.0 && (1900.0..=2100.0).contains(&n)).then_some(Period::Year(n as i32))
    }
}

/// Splits trailing footnote marks such as `1)` or `2), 3)` off a text and returns their numbers:
/// `("111,5", [1])` from `"111,51)"`. A mark is one digit, as in Rosstat's tables, which is what makes
/// `111,51)` readable at all. A `)` that closes an opening parenthesis of the text is not a mark.
pub(crate) fn strip_footnote_mark(text: &str) -> (&str, Vec<u32>) {
    let mut rest = text.trim_end();
    let mut marks = Vec::new();
    // Superscript digits («Московская область ²»).
    while let Some(c) = rest.chars().last() {
        let Some(n) = "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().position(|s| s == c) else {
            break;
        };
        marks.push(n as u32);
        rest = rest[..rest.len() - c.len_utf8()].trim_end();
    }
    // Asterisk marks «*)», «**)», «*»: footnotes 101, 102, ... (see [`asterisk_mark`]).
    let stars = rest.trim_end_matches(')');
    if stars.ends_with('*') {
        let body = stars.trim_end_matches('*');
        let n = (stars.len() - body.len()) as u32;
        if !body.trim().is_empty() {
            marks.push(asterisk_mark(n));
            rest = body.trim_end();
        }
    }
    while let Some(before) = rest.strip_suffix(')') {
        let Some(digit) = before.chars().last().and_then(|c| c.to_digit(10)) else {
            break;
        };
        let head = &before[..before.len() - 1];
        let open = head.rfind('(');
        if open.is_some_and(|i| !head[i..].contains(')')) {
            break;
        }
        marks.push(digit);
        rest = head.trim_end().trim_end_matches([',', ';']).trim_end();
    }
    marks.reverse();
    (rest, marks)
}

/// The footnote number of an asterisk mark: `*` is 101, `**` 102, as «*) ...» footnotes are read.
pub(crate) fn asterisk_mark(stars: u32) -> u32 {
    100 + stars
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}-Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Period::Months(y, a, b) => write!(f, "{y}-{a:02}/{y}-{b:02}"),
            Period::HalfYear(y, h) => write!(f, "{y}-H{h}"),
            Period::SchoolYear(y) => write!(f, "{y}/{}", y + 1),
        }
    }
}

/// A part of a year as a header row prints it under (or without) a year: `I квартал`, `1 квартал`,
/// `январь`, `январь-март`, `9 месяцев`, `I полугодие`, `год`, and stocks at a date: `на 1 июля`,
/// `июля` (a genitive month name: the first of that month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubPeriod {
    Quarter(u8),
    Month(u8),
    Months(u8, u8),
    HalfYear(u8),
    WholeYear,
    Date(u8, u8),
}

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];
const MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

fn month_of(word: &str) -> Option<u8> {
    MONTHS.iter().position(|m| *m == word).map(|i| i as u8 + 1)
}

fn ordinal(word: &str, max: u8) -> Option<u8> {
    let n = match word {
        "i" | "1" => 1,
        "ii" | "2" => 2,
        "iii" | "3" => 3,
        "iv" | "4" => 4,
        _ => return None,
    };
    (n <= max).then_some(n)
}

impl SubPeriod {
    pub fn from_header_text(text: &str) -> Option<SubPeriod> {
        let t = strip_footnote_mark(text.trim()).0.trim().to_lowercase();
        // One spelling: dashes of any kind, runs of spaces and line breaks made single.
        let t = t.replace(
            ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}'],
            "-",
        );
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        let t = t.replace(" - ", "-").replace("- ", "-").replace(" -", "-");
        Self::from_clean(&t).or_else(|| {
            // A mark glued without a bracket: «IV квартал1», «январь-декабрь 2».
            let bare = t.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end();
            (bare.len() < t.len() && bare.ends_with(|c: char| c.is_alphabetic()))
                .then(|| Self::from_clean(bare))
                .flatten()
        })
    }

    fn from_clean(t: &str) -> Option<SubPeriod> {
        if let Some(q) = t.strip_suffix(" квартал") {
            return ordinal(q, 4).map(SubPeriod::Quarter);
        }
        if let Some(h) = t.strip_suffix(" полугодие") {
            return ordinal(h, 2).map(SubPeriod::HalfYear);
        }
        if t == "год" {
            return Some(SubPeriod::WholeYear);
        }
        if let Some(n) = t
            .strip_suffix(" месяцев")
            .or_else(|| t.strip_suffix(" месяца"))
        {
            let n: u8 = n.trim().parse().ok()?;
            return (2..=12).contains(&n).then_some(SubPeriod::Months(1, n));
        }
        if let Some((a, b)) = t.split_once('-') {
            let (a, b) = (month_of(a)?, month_of(b)?);
            return (a < b).then_some(SubPeriod::Months(a, b));
        }
        let date = t.strip_prefix("на ").unwrap_or(t);
        let (day, month) = match date.split_once(' ') {
            Some((d, m)) => (d.parse::<u8>().ok()?, m),
            None => (1, date),
        };
        if let Some(m) = MONTHS_GENITIVE.iter().position(|g| *g == month) {
            return (1..=31)
                .contains(&day)
                .then_some(SubPeriod::Date(m as u8 + 1, day));
        }
        if day == 1 && month == date {
            return month_of(t).map(SubPeriod::Month);
        }
        None
    }

    pub fn in_year(self, year: i32) -> Period {
        match self {
            SubPeriod::Quarter(q) => Period::Quarter(year, q),
            SubPeriod::Month(m) => Period::Month(year, m),
            SubPeriod::Months(a, b) => Period::Months(year, a, b),
            SubPeriod::HalfYear(h) => Period::HalfYear(year, h),
            SubPeriod::WholeYear => Period::Year(year),
            SubPeriod::Date(m, d) => chrono::NaiveDate::from_ymd_opt(year, m as u32, d as u32)
                .map(Period::Date)
                .unwrap_or(Period::Month(year, m)),
        }
    }
}

/// Periods travel as their canonical text (`2020-Q1`), the form the warehouse and published files use.
impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Period::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a period: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_years_in_rosstat_spellings() {
        assert_eq!(Period::from_header_text("1998г."), Some(Period::Year(1998)));
        assert_eq!(
            Period::from_header_text("2020 г."),
            Some(Period::Year(2020))
        );
        assert_eq!(Period::from_header_text(" 2005 "), Some(Period::Year(2005)));
        assert_eq!(Period::from_header_text("20151)"), Some(Period::Year(2015)));
        assert_eq!(Period::from_header_text("Всего"), None);
        assert_eq!(Period::from_header_number(2005.0), Some(Period::Year(2005)));
        assert_eq!(Period::from_header_number(110.5), None);
        assert_eq!(Period::from_header_number(5.0), None);
    }

    #[test]
    fn sub_periods() {
        assert_eq!(
            SubPeriod::from_header_text("I квартал"),
            Some(SubPeriod::Quarter(1))
        );
        assert_eq!(
            SubPeriod::from_header_text("IV  квартал1)"),
            Some(SubPeriod::Quarter(4))
        );
        assert_eq!(
            SubPeriod::from_header_text("3 квартал"),
            Some(SubPeriod::Quarter(3))
        );
        assert_eq!(
            SubPeriod::from_header_text("Март"),
            Some(SubPeriod::Month(3))
        );
        assert_eq!(
            SubPeriod::from_header_text("январь-март"),
            Some(SubPeriod::Months(1, 3))
        );
        assert_eq!(SubPeriod::Quarter(2).in_year(2020).to_string(), "2020-Q2");
    }

    /// Issue 14: cumulated and partial-year periods, genitive months (a stock at a date), years
    /// with a word, school years and marks glued without a bracket, each with its own type.
    #[test]
    fn the_periods_of_the_monthly_and_education_workbooks() {
        let sub = SubPeriod::from_header_text;
        assert_eq!(sub("январь-март"), Some(SubPeriod::Months(1, 3)));
        assert_eq!(sub("январь-   март"), Some(SubPeriod::Months(1, 3)));
        assert_eq!(sub("январь-\nмарт"), Some(SubPeriod::Months(1, 3)));
        assert_eq!(sub("Январь–декабрь 2"), Some(SubPeriod::Months(1, 12)));
        assert_eq!(sub("I полугодие"), Some(SubPeriod::HalfYear(1)));
        assert_eq!(sub("II полугодие"), Some(SubPeriod::HalfYear(2)));
        assert_eq!(sub("9 месяцев"), Some(SubPeriod::Months(1, 9)));
        assert_eq!(sub("год"), Some(SubPeriod::WholeYear));
        assert_eq!(sub("IV квартал1"), Some(SubPeriod::Quarter(4)));
        assert_eq!(sub("июля"), Some(SubPeriod::Date(7, 1)));
        assert_eq!(sub("на 1 июля"), Some(SubPeriod::Date(7, 1)));
        assert_eq!(sub("май"), Some(SubPeriod::Month(5)));
        assert_eq!(sub("март-январь"), None);
        assert_eq!(sub("V квартал"), None);
        assert_eq!(
            SubPeriod::Months(1, 3).in_year(2009).to_string(),
            "2009-01/2009-03"
        );
        assert_eq!(
            SubPeriod::Months(1, 3).in_year(2009).period_type().as_str(),
            "months"
        );
        assert_eq!(SubPeriod::HalfYear(2).in_year(2009).to_string(), "2009-H2");
        assert_eq!(
            SubPeriod::Date(7, 1).in_year(2009).to_string(),
            "2009-07-01"
        );
        assert_eq!(SubPeriod::WholeYear.in_year(2009), Period::Year(2009));
        assert_eq!(
            Period::from_header_text("2009 год"),
            Some(Period::Year(2009))
        );
        assert_eq!(
            Period::from_header_text("2010 год "),
            Some(Period::Year(2010))
        );
        assert_eq!(
            Period::from_header_text("2000/2001"),
            Some(Period::SchoolYear(2000))
        );
        assert_eq!(Period::from_header_text("2000/2002"), None);
        assert_eq!(Period::SchoolYear(2000).to_string(), "2000/2001");
    }

    #[test]
    fn canonical_text_round_trips() {
        for p in [
            Period::Year(2005),
            Period::Quarter(2020, 1),
            Period::Month(2020, 3),
            Period::Date(chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()),
            Period::Months(2020, 1, 9),
            Period::HalfYear(2020, 2),
            Period::SchoolYear(2000),
        ] {
            assert_eq!(Period::parse(&p.to_string()), Some(p));
        }
        assert_eq!(Period::Month(2020, 3).to_string(), "2020-03");
        assert_eq!(Period::parse("2020-Q5"), None);
    }

    #[test]
    fn footnote_marks() {
        assert_eq!(
            strip_footnote_mark("Российская Федерация1)"),
            ("Российская Федерация", vec![1])
        );
        assert_eq!(strip_footnote_mark("111,51)"), ("111,5", vec![1]));
        assert_eq!(strip_footnote_mark("…4)"), ("…", vec![4]));
        assert_eq!(
            strip_footnote_mark("г. Севастополь2), 3)"),
            ("г. Севастополь", vec![2, 3])
        );
        assert_eq!(
            strip_footnote_mark("Тюменская область (2005)"),
            ("Тюменская область (2005)", vec![])
        );
        assert_eq!(strip_footnote_mark("plain"), ("plain", vec![]));
    }
}
