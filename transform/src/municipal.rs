//! Municipal formations (OKTMO) and the resolution of municipal labels inside one subject.
//!
//! regstat ships no copy of the classifier (none could be found whose source and date could be
//! stated); analysts load Rosstat's own: the printed classifier's volume files
//! (`tom<N>_oktmo_<k>.csv`: `79 605 000    ;2;Гиагинский муниципальный район;ст-ца Гиагинская`,
//! code, check digit, name, centre; Windows-1251 or UTF-8). Every line's check digit is verified,
//! so a damaged or mis-encoded file is refused with the line at fault rather than loaded wrong.
//!
//! A label resolves inside the subject its document is about, never across subjects, and never by
//! guessing: its kind words («муниципальный район», «район», «городской округ», «город», «г.»,
//! « - всего») are set aside and the rest must equal a formation's name stem of a compatible kind
//! exactly. Where several classifier files (editions) give one stem and kind family different codes
//! (a district that became a municipal okrug), the label lands on one series: the code of the
//! first file listed, so a 2012 table's «Грязинский район» and a later table's okrug share it.

use std::collections::HashMap;

use crate::region::normalize_label;

/// What a municipal formation is, from its code (the third digit and the settlement digits) and,
/// for headings, its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MunicipalKind {
    /// `XX 6YY 000`.
    MunicipalDistrict,
    /// `XX 5YY 000`: the okrugs that replaced many districts after 2019.
    MunicipalOkrug,
    /// `XX 7YY 000`.
    CityOkrug,
    /// `XX 3YY 000` (intra-city territories of federal cities) and city districts `XX 7YY 3ZZ`.
    CityDistrict,
    /// `XX YYY 1ZZ`.
    UrbanSettlement,
    /// `XX YYY 4ZZ`.
    RuralSettlement,
    /// `XX YYY 7ZZ`.
    InterSettlementTerritory,
}

impl MunicipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MunicipalKind::MunicipalDistrict => "municipal_district",
            MunicipalKind::MunicipalOkrug => "municipal_okrug",
            MunicipalKind::CityOkrug => "city_okrug",
            MunicipalKind::CityDistrict => "city_district",
            MunicipalKind::UrbanSettlement => "urban_settlement",
            MunicipalKind::RuralSettlement => "rural_settlement",
            MunicipalKind::InterSettlementTerritory => "inter_settlement_territory",
        }
    }

    /// Formations that succeed one another under one name: a district and the okrug that
    /// replaced it; a city okrug whatever its label calls it.
    fn family(self) -> Family {
        match self {
            MunicipalKind::MunicipalDistrict | MunicipalKind::MunicipalOkrug => Family::Territory,
            MunicipalKind::CityOkrug => Family::City,
            MunicipalKind::CityDistrict => Family::CityDistrict,
            MunicipalKind::UrbanSettlement
            | MunicipalKind::RuralSettlement
            | MunicipalKind::InterSettlementTerritory => Family::Settlement,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Territory,
    City,
    CityDistrict,
    Settlement,
}

/// One municipal formation of the classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct MunicipalEntry {
    /// Eight digits without spaces (`79605000`).
    pub code: String,
    pub name: String,
    /// The administrative centre as printed (`ст-ца Гиагинская`), empty where none.
    pub centre: String,
    pub kind: MunicipalKind,
    /// The subject's two-digit OKTMO code (`79`).
    pub subject: String,
    /// The series the formation's figures land on: its own code, or the code an earlier edition
    /// gave the same name and kind family.
    pub series: String,
    /// The classifier file it was read from.
    pub source: String,
}

/// A classifier file that could not be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}, line {line}: {message}")]
pub struct ClassifierError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The municipal formations of the classifier files loaded, indexed for resolution.
#[derive(Debug, Clone, Default)]
pub struct MunicipalDictionary {
    entries: Vec<MunicipalEntry>,
    /// (subject, family, stem) -> entries, first file first.
    by_stem: HashMap<(String, Family, String), Vec<usize>>,
}

/// What a municipal label is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MunicipalResolution<'a> {
    Formation(&'a MunicipalEntry),
    /// A row of the subject's own total or a category under a formation («в том числе:
    /// сельское население», «городское население»): no formation of its own; the category.
    Category(&'static str),
}

/// The OKTMO check digit of a code's digits (the classifiers' method: weights 1, 2, 3, ...; if the
/// remainder mod 11 is 10, weights 3, 4, 5, ...; if again 10, the digit is 0).
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum = |start: usize| -> usize {
        digits
            .iter()
            .enumerate()
            .map(|(i, d)| (d - b'0') as usize * ((i + start - 1) % 10 + 1))
            .sum::<usize>()
            % 11
    };
    match sum(1) {
        10 => match sum(3) {
            10 => 0,
            r => r as u8,
        },
        r => r as u8,
    }
}

impl MunicipalDictionary {
    /// Reads classifier files in order (earlier editions first: their codes name the series).
    /// Each is `(name for messages, bytes)`.
    pub fn from_volumes<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, ClassifierError> {
        let mut dictionary = Self::default();
        for (source, bytes) in files {
            dictionary.add_volume(source, bytes)?;
        }
        Ok(dictionary)
    }

    fn add_volume(&mut self, source: &str, bytes: &[u8]) -> Result<(), ClassifierError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.to_string(),
            Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let error = |line: usize, message: String| ClassifierError {
            file: source.to_string(),
            line,
            message,
        };
        let mut read = 0usize;
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(';').collect();
            if fields.len() < 3 {
                return Err(error(
                    line_no,
                    format!("expected `code;check digit;name;centre`, found {line:?}"),
                ));
            }
            // Separator lines (`;;;`) and notes on the line above (`;;;Пояснение: входит в
            // состав городского округа ...`) carry no code.
            if fields[0].trim().is_empty() {
                let rest = fields[1..].join(";");
                let rest = rest.trim_matches([';', ' ']);
                if rest.is_empty() || rest.starts_with("Пояснение") {
                    continue;
                }
            }
            let digits: Vec<u8> = fields[0]
                .bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            if !(digits.len() == 8 || digits.len() == 11) || !digits.iter().all(u8::is_ascii_digit)
            {
                return Err(error(
                    line_no,
                    format!(
                        "expected an 8- or 11-digit OKTMO code, found {:?}",
                        fields[0]
                    ),
                ));
            }
            let check = fields[1].trim();
            let expected = check_digit(&digits);
            if check != expected.to_string() {
                return Err(error(
                    line_no,
                    format!(
                        "check digit {check:?} does not match code {} (expected {expected}): a damaged line or another file format",
                        String::from_utf8_lossy(&digits)
                    ),
                ));
            }
            read += 1;
            // Settlements' localities (the 11-digit part) and group headings are not formations.
            if digits.len() == 11 {
                continue;
            }
            let name = fields[2].trim();
            if name.ends_with('/') || is_heading(name) {
                continue;
            }
            let code = String::from_utf8(digits).expect("digits");
            let Some(kind) = kind_of(&code) else { continue };
            let name = name.trim_start_matches("- ").trim().to_string();
            let subject = code[..2].to_string();
            let stem = stem_of(&normalize_label(&name)).0;
            let key = (subject.clone(), kind.family(), stem);
            let series = match self.by_stem.get(&key) {
                Some(earlier) => self.entries[earlier[0]].series.clone(),
                None => code.clone(),
            };
            // One edition repeating a code it already gave (two volumes of one date) adds nothing.
            if self
                .entries
                .iter()
                .any(|e| e.code == code && e.source == source)
            {
                continue;
            }
            self.by_stem
                .entry(key)
                .or_default()
                .push(self.entries.len());
            self.entries.push(MunicipalEntry {
                code,
                name,
                centre: fields.get(3).map_or("", |c| c.trim()).to_string(),
                kind,
                subject,
                series,
                source: source.to_string(),
            });
        }
        if read == 0 {
            return Err(error(
                0,
                "no classifier lines (`code;check digit;name;centre`)".into(),
            ));
        }
        Ok(())
    }

    pub fn entries(&self) -> &[MunicipalEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the dictionary has formations of the subject with two-digit OKTMO code `subject`.
    pub fn covers(&self, subject: &str) -> bool {
        self.entries.iter().any(|e| e.subject == subject)
    }

    /// Resolves a label printed in a document about the subject `subject` (its two-digit OKTMO
    /// code). `None`: not a municipal label of that subject (the caller reports it). A stem that
    /// names formations of two different series is never guessed between.
    pub fn resolve(&self, subject: &str, label: &str) -> Option<MunicipalResolution<'_>> {
        let key = normalize_label(label);
        let key = key
            .strip_prefix("в том числе:")
            .or_else(|| key.strip_prefix("в том числе"))
            .or_else(|| key.strip_prefix("в т.ч."))
            .map(str::trim)
            .unwrap_or(&key);
        if let Some(name) = category(key) {
            return Some(MunicipalResolution::Category(name));
        }
        let (stem, mut families) = stem_of(key);
        if stem.is_empty() {
            return None;
        }
        // The region dictionary's normalizing drops «г.» and «город» before a name; here they
        // say the label is a city's.
        let lower = label.trim().to_lowercase();
        if ["г.", "г ", "город ", "городской округ", "г.о."]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            families = &[Family::City];
        }
        let mut found: Vec<&MunicipalEntry> = Vec::new();
        for family in families {
            if let Some(ids) = self
                .by_stem
                .get(&(subject.to_string(), *family, stem.clone()))
            {
                found.extend(ids.iter().map(|&i| &self.entries[i]));
            }
        }
        let first = *found.first()?;
        if found.iter().any(|e| e.series != first.series) {
            return None;
        }
        Some(MunicipalResolution::Formation(first))
    }
}

fn kind_of(code: &str) -> Option<MunicipalKind> {
    let b = code.as_bytes();
    let settlement = &code[5..8];
    if settlement == "000" {
        return match b[2] {
            b'6' => Some(MunicipalKind::MunicipalDistrict),
            b'5' => Some(MunicipalKind::MunicipalOkrug),
            b'7' => Some(MunicipalKind::CityOkrug),
            b'3' => Some(MunicipalKind::CityDistrict),
            _ => None,
        };
    }
    match b[5] {
        b'1' => Some(MunicipalKind::UrbanSettlement),
        b'3' if b[2] == b'7' => Some(MunicipalKind::CityDistrict),
        b'4' => Some(MunicipalKind::RuralSettlement),
        b'7' => Some(MunicipalKind::InterSettlementTerritory),
        _ => None,
    }
}

/// Group rows of the classifier («Муниципальные районы Липецкой области»), not formations.
fn is_heading(name: &str) -> bool {
    let n = normalize_label(name);
    [
        "муниципальные образования",
        "муниципальные районы",
        "муниципальные округа",
        "городские округа",
        "внутригородские",
        "городские поселения",
        "сельские поселения",
        "межселенные территории",
        "населенные пункты",
    ]
    .iter()
    .any(|p| n.starts_with(p))
}

/// Rows under a formation that are a part of it by a category, not a formation: the category's
/// name, as figures carry it.
fn category(key: &str) -> Option<&'static str> {
    [
        "городское население",
        "сельское население",
        "городская местность",
        "сельская местность",
        "городские поселения",
        "сельские поселения",
        "межселенные территории",
    ]
    .into_iter()
    .find(|c| *c == key)
}

/// A normalized label's name stem and the kind families its words allow: «грязинский
/// муниципальный район - всего» -> («грязинский», territory); «городской округ город елец» ->
/// («елец», city); a bare stem allows every family.
fn stem_of(key: &str) -> (String, &'static [Family]) {
    let mut s = key.trim().to_string();
    for suffix in ["-всего", " всего", "-итого", " итого"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.trim().to_string();
        }
    }
    const ALL: &[Family] = &[
        Family::Territory,
        Family::City,
        Family::CityDistrict,
        Family::Settlement,
    ];
    let mut families: &'static [Family] = ALL;
    let prefixes: [(&str, &'static [Family]); 9] = [
        ("городской округ город ", &[Family::City]),
        ("городской округ г. ", &[Family::City]),
        ("городской округ ", &[Family::City]),
        ("го город ", &[Family::City]),
        ("г.о. ", &[Family::City]),
        ("город ", &[Family::City]),
        ("г. ", &[Family::City]),
        ("г.", &[Family::City]),
        ("г ", &[Family::City]),
    ];
    for (prefix, fams) in prefixes {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim().to_string();
            families = fams;
            break;
        }
    }
    let suffixes: [(&str, &'static [Family]); 10] = [
        (" муниципальный район", &[Family::Territory]),
        (" муниципальный округ", &[Family::Territory]),
        (" район", &[Family::Territory, Family::CityDistrict]),
        (" р-н", &[Family::Territory, Family::CityDistrict]),
        (" городской округ", &[Family::City]),
        (" сельское поселение", &[Family::Settlement]),
        (" городское поселение", &[Family::Settlement]),
        (" сельсовет", &[Family::Settlement]),
        (" поссовет", &[Family::Settlement]),
        (" округ", &[Family::Territory]),
    ];
    for (suffix, fams) in suffixes {
        if let Some(rest) = s.strip_suffix(suffix) {
            // «Абзелиловский сельсовет» is the settlement's whole name in the classifier.
            if matches!(suffix, " сельсовет" | " поссовет") {
                return (s.clone(), fams);
            }
            s = rest.trim().to_string();
            families = fams;
            break;
        }
    }
    (s, families)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as the printed classifier's volume 3 has them (Windows-1251 in the files).
    const ADYGEA: &str = "79 000 000    ;3;Муниципальные образования Республики Адыгеи (Адыгеи);\n\
79 600 000    ;0;Муниципальные районы Республики Адыгеи (Адыгеи);\n\
79 605 000    ;2;Гиагинский муниципальный район;ст-ца Гиагинская\n\
79 605 400    ;4;Сельские поселения Гиагинского муниципального района/;\n\
79 605 402    ;9;- Айрюмовское;п Новый\n\
79 605 407    ;5;- Гиагинское;ст-ца Гиагинская\n";

    #[test]
    fn check_digits_as_the_classifier_prints_them() {
        for (code, digit) in [
            ("79605000", 2),
            ("79000000", 3),
            ("79605402", 9),
            ("80601404", 1),
            ("79605402101", 8),
        ] {
            assert_eq!(check_digit(code.as_bytes()), digit, "{code}");
        }
    }

    #[test]
    fn a_volume_reads_formations_and_skips_headings() {
        let encoded = encoding_rs::WINDOWS_1251.encode(ADYGEA).0;
        let d = MunicipalDictionary::from_volumes([("tom3.csv", &encoded[..])]).unwrap();
        let codes: Vec<(&str, MunicipalKind)> = d
            .entries()
            .iter()
            .map(|e| (e.code.as_str(), e.kind))
            .collect();
        assert_eq!(
            codes,
            [
                ("79605000", MunicipalKind::MunicipalDistrict),
                ("79605402", MunicipalKind::RuralSettlement),
                ("79605407", MunicipalKind::RuralSettlement),
            ]
        );
        assert_eq!(d.entries()[1].name, "Айрюмовское");
        assert_eq!(d.entries()[0].centre, "ст-ца Гиагинская");
        assert!(d.covers("79") && !d.covers("42"));
    }

    #[test]
    fn a_wrong_check_digit_names_its_line() {
        let text = ADYGEA.replace("79 605 407    ;5", "79 605 407    ;6");
        let err = MunicipalDictionary::from_volumes([("tom3.csv", text.as_bytes())]).unwrap_err();
        assert_eq!(err.line, 6);
        assert!(
            err.to_string().contains("tom3.csv, line 6") && err.message.contains("expected 5"),
            "{err}"
        );
    }

    #[test]
    fn labels_resolve_inside_their_subject_by_stem_and_kind() {
        let d = MunicipalDictionary::from_volumes([("tom3.csv", ADYGEA.as_bytes())]).unwrap();
        let code = |label: &str| match d.resolve("79", label) {
            Some(MunicipalResolution::Formation(e)) => Some(e.code.as_str()),
            _ => None,
        };
        for label in [
            "Гиагинский район",
            "Гиагинский муниципальный район - всего",
            "Гиагинский муниципальный район1)",
            "Гиагинский р-н",
        ] {
            assert_eq!(code(label), Some("79605000"), "{label}");
        }
        assert_eq!(code("Айрюмовское сельское поселение"), Some("79605402"));
        // Another subject, a city of that name, an unknown stem: not resolved, never guessed.
        assert_eq!(d.resolve("42", "Гиагинский район"), None);
        assert_eq!(code("город Гиагинский"), None);
        assert_eq!(code("Гиагинск"), None);
        assert_eq!(
            d.resolve("79", "в том числе: сельское население"),
            Some(MunicipalResolution::Category("сельское население"))
        );
    }

    #[test]
    fn a_district_and_the_okrug_that_replaced_it_share_one_series() {
        // A later edition: the district became a municipal okrug with a code of its own.
        let later = "79 505 000    ;7;Гиагинский муниципальный округ;ст-ца Гиагинская\n";
        assert_eq!(check_digit(b"79505000"), 7);
        let d = MunicipalDictionary::from_volumes([
            ("2013.csv", ADYGEA.as_bytes()),
            ("2024.csv", later.as_bytes()),
        ])
        .unwrap();
        let okrug = d.entries().iter().find(|e| e.code == "79505000").unwrap();
        assert_eq!(okrug.kind, MunicipalKind::MunicipalOkrug);
        assert_eq!(okrug.series, "79605000");
        for label in ["Гиагинский район", "Гиагинский муниципальный округ"]
        {
            let Some(MunicipalResolution::Formation(e)) = d.resolve("79", label) else {
                panic!("{label}")
            };
            assert_eq!(e.series, "79605000", "{label}");
        }
    }
}
