import Foundation

/// A minimal SVG writer: elements appended as text with fixed one-decimal coordinates, so the
/// same chart always serializes to the same bytes.
struct SVGCanvas {
    let width: Double
    let height: Double
    let label: String
    private var elements: [String] = []

    init(width: Double, height: Double, label: String) {
        self.width = width
        self.height = height
        self.label = label
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) {
        let dashAttribute = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        elements.append("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"\(dashAttribute)/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, title: String? = nil) {
        let strokeAttribute = stroke.map { " stroke=\"\($0)\"" } ?? ""
        elements.append(withTitle("<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill)\"\(strokeAttribute)", title))
    }

    mutating func circle(_ cx: Double, _ cy: Double, r: Double, fill: String, opacity: Double = 1, title: String? = nil) {
        let opacityAttribute = opacity < 1 ? " fill-opacity=\"\(n(opacity))\"" : ""
        elements.append(withTitle("<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(n(r))\" fill=\"\(fill)\"\(opacityAttribute)", title))
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ x: Double, _ y: Double, _ content: String, anchor: Anchor = .start, size: Double = 12,
                       rotate: Double? = nil, fill: String = "#222", bold: Bool = false) {
        let rotation = rotate.map { " transform=\"rotate(\(n($0)) \(n(x)) \(n(y)))\"" } ?? ""
        let weight = bold ? " font-weight=\"bold\"" : ""
        elements.append("<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\"\(weight)\(rotation)>\(escapeXML(content))</text>")
    }

    func render() -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"\(escapeXML(label))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
        out += "<title>\(escapeXML(label))</title>\n"
        for element in elements { out += element + "\n" }
        return out + "</svg>\n"
    }

    private func withTitle(_ openTag: String, _ title: String?) -> String {
        guard let title else { return openTag + "/>" }
        return openTag + "><title>\(escapeXML(title))</title></" + openTag.dropFirst().prefix { $0 != " " } + ">"
    }

    private func n(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Tableau 10: distinguishable colours, assigned to conditions by their position.
let conditionPalette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

func color(forConditionAt index: Int) -> String { conditionPalette[index % conditionPalette.count] }

/// White to dark blue for a score in [0, 1], as a hex colour.
func heatColor(_ value: Double) -> String {
    let t = min(max(value, 0), 1)
    let (r0, g0, b0) = (247.0, 251.0, 255.0), (r1, g1, b1) = (8.0, 69.0, 148.0)
    func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
    return String(format: "#%02x%02x%02x", mix(r0, r1), mix(g0, g1), mix(b0, b1))
}
