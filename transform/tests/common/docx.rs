//! A minimal Word document (.docx) writer for tests: paragraphs and tables, as Word stores them.

use std::io::Write;

/// A block of the document's body.
pub enum Block<'a> {
    Paragraph(&'a str),
    /// Rows of cells; a cell `"<span N>text"` spans N columns.
    Table(Vec<Vec<&'a str>>),
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn paragraph(text: &str) -> String {
    format!(
        r#"<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
        esc(text)
    )
}

pub fn docx(blocks: &[Block]) -> Vec<u8> {
    let mut body = String::new();
    for block in blocks {
        match block {
            Block::Paragraph(text) => body.push_str(&paragraph(text)),
            Block::Table(rows) => {
                body.push_str("<w:tbl><w:tblPr/>");
                for row in rows {
                    body.push_str("<w:tr>");
                    for cell in row {
                        let (props, text) = match cell.strip_prefix("<span ") {
                            Some(rest) => {
                                let (n, text) = rest.split_once('>').expect("<span N>text");
                                (format!(r#"<w:gridSpan w:val="{n}"/>"#), text)
                            }
                            None => (String::new(), *cell),
                        };
                        body.push_str(&format!(
                            "<w:tc><w:tcPr>{props}</w:tcPr>{}</w:tc>",
                            paragraph(text)
                        ));
                    }
                    body.push_str("</w:tr>");
                }
                body.push_str("</w:tbl>");
            }
        }
    }
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let mut buf = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut buf));
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
        z.start_file("_rels/.rels", opts).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#).unwrap();
        z.start_file("word/document.xml", opts).unwrap();
        z.write_all(document.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    buf
}
