import Engine
import Foundation

/// One record to generate: its id and the (type, subtype, domain) it must have.
public struct PlanItem: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var category: ConflictCategory
    public var domain: ConflictDomain

    public init(id: String, category: ConflictCategory, domain: ConflictDomain) {
        self.id = id
        self.category = category
        self.domain = domain
    }
}

/// The (type, subtype, domain) plan of a generation run, fixed by the seed.
public enum GenerationPlan {
    /// `count` items with ids `conflict_001`...: types balanced (each appears `count / 5` or one
    /// more times, in a seeded order), subtype and domain drawn uniformly with the same seeded
    /// SplitMix64 stream, so a seed always gives the same plan.
    public static func make(count: Int, seed: UInt64) -> [PlanItem] {
        var generator = SplitMix64(seed: seed)
        let kinds = ConflictKind.allCases
        var order = (0..<max(0, count)).map { kinds[$0 % kinds.count] }
        generator.shuffle(&order)
        let domains = ConflictDomain.allCases
        return order.enumerated().map { index, kind in
            let subtype = kind.subtypes[generator.index(below: kind.subtypes.count)]
            let domain = domains[generator.index(below: domains.count)]
            return PlanItem(id: recordID(index + 1), category: ConflictCategory(kind: kind, subtype: subtype), domain: domain)
        }
    }

    public static func recordID(_ number: Int) -> String { String(format: "conflict_%03d", number) }
}
