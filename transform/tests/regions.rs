//! The shipped region dictionary against the shared reference code lists (../shared/reference/regions):
//! EMISS's own s_OKATO list, hflabs/region and the «Если быть точным» spelling list.

use std::path::PathBuf;

use regstat_transform::{RegionDictionary, RegionKind, Resolution};

fn reference(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/regions")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn code_of(label: &str) -> Option<String> {
    match RegionDictionary::builtin().resolve(label)? {
        Resolution::Region(e) => Some(e.code.clone()),
        Resolution::Marker => None,
        other => panic!("the builtin dictionary has no municipal scope: {other:?}"),
    }
}

/// Splits a CSV line; fields may be double-quoted (EMISS's names hold commas).
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[test]
fn every_emiss_code_is_in_the_dictionary_and_its_name_resolves_to_it() {
    let text = reference("fedstat_okato_codelist.csv");
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let f = fields(line);
        let (code, name) = (f[0].as_str(), f[1].as_str());
        assert!(
            RegionDictionary::builtin().get(code).is_some(),
            "{code} {name}: not in the dictionary"
        );
        // EMISS prints the pre-2018 Siberian and Far Eastern districts under the bare names, which the
        // dictionary gives the current ones (041, 042); tables choose by their subjects (district.rs).
        let expected = match code {
            "035" => "041",
            "036" => "042",
            c => c,
        };
        assert_eq!(code_of(name).as_deref(), Some(expected), "{name}");
        rows += 1;
    }
    assert!(rows > 100, "{rows} rows read");
}

#[test]
fn every_hflabs_region_resolves_to_its_okato_with_its_iso_and_oktmo() {
    let text = reference("region.csv");
    let header = fields(text.lines().next().unwrap());
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (name_with_type, okato, oktmo, iso) = (
        col("name_with_type"),
        col("okato"),
        col("oktmo"),
        col("iso_code"),
    );
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let f = fields(line);
        if f[iso].starts_with("KZ-") {
            continue; // Байконур, leased from Kazakhstan: no subject, in no Rosstat table
        }
        let code = code_of(&f[name_with_type])
            .unwrap_or_else(|| panic!("{}: unresolved", f[name_with_type]));
        assert_eq!(code, f[okato], "{}", f[name_with_type]);
        let entry = RegionDictionary::builtin().get(&code).unwrap();
        assert_eq!(entry.iso.as_deref(), Some(f[iso].as_str()), "{code}");
        assert_eq!(entry.oktmo.as_deref(), Some(f[oktmo].as_str()), "{code}");
        rows += 1;
    }
    assert_eq!(rows, 85, "hflabs lists the 85 subjects before 2022");
}

/// Every name and alternative spelling of the spelling list resolves, to the subject whose OKATO the
/// list gives. The list is YAML of a regular shape; its few keys are read line by line.
#[test]
fn every_spelling_of_the_reference_list_resolves_to_its_okato() {
    let text = reference("regions_etalon.yaml");
    let quoted = |s: &str| -> Vec<String> {
        s.split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut names: Vec<String> = Vec::new();
    let mut checked = 0;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("name_rus:") {
            names = quoted(v);
        } else if let Some(v) = line.strip_prefix("alternative_name:") {
            names.extend(quoted(v));
        } else if let Some(v) = line.strip_prefix("okato:") {
            let okato = quoted(v).pop().unwrap_or_default();
            for name in names.drain(..) {
                let code = code_of(&name).unwrap_or_else(|| panic!("{name:?}: unresolved"));
                let entry = RegionDictionary::builtin().get(&code).unwrap();
                if okato != "00000000" {
                    // The list numbers the parts of complex subjects its own way (11200000 for
                    // Arkhangelsk oblast without Nenets AO); EMISS's codes are kept, within the subject.
                    let same_part =
                        entry.kind == RegionKind::SubjectPart && code[..2] == okato[..2];
                    assert!(
                        code.starts_with(&okato) || same_part,
                        "{name}: {code} is not OKATO {okato}"
                    );
                } else {
                    assert!(
                        matches!(
                            entry.kind,
                            RegionKind::Country | RegionKind::FederalDistrict
                        ),
                        "{name}: {code}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} spellings checked");
}
