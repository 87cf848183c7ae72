import Foundation
import Engine
import Testing
@testable import Datasets

@Suite struct OperationsTests {
    @Test func splitIsStratifiedSeededAndComplete() throws {
        let records = try DatasetFixtures.bundled() + DatasetFixtures.multiTurn()
        let (train, test) = DatasetOperations.split(records, trainFraction: 0.8, seed: 7)
        #expect(train.count + test.count == records.count)
        #expect(Set(train.map(\.id)).isDisjoint(with: test.map(\.id)))
        for kind in ConflictKind.allCases {
            let all = records.filter { $0.category?.kind == kind }.count
            let inTrain = train.filter { $0.category?.kind == kind }.count
            #expect(inTrain == Int((0.8 * Double(all)).rounded()), "\(kind)")
        }
        let again = DatasetOperations.split(records, trainFraction: 0.8, seed: 7)
        #expect(again.train == train)
        #expect(DatasetOperations.split(records, trainFraction: 0.8, seed: 8).train != train)
        // File order is kept within each half.
        let order = Dictionary(uniqueKeysWithValues: records.enumerated().map { ($1.id, $0) })
        #expect(train.map { order[$0.id]! } == train.map { order[$0.id]! }.sorted())
    }

    @Test func sampleDrawsDistinctRecordsReproducibly() throws {
        let records = try DatasetFixtures.bundled()
        let sample = DatasetOperations.sample(records, count: 5, seed: 3)
        #expect(sample.count == 5)
        #expect(Set(sample.map(\.id)).count == 5)
        #expect(DatasetOperations.sample(records, count: 5, seed: 3) == sample)
        #expect(DatasetOperations.sample(records, count: 5, seed: 4) != sample)
        #expect(DatasetOperations.sample(records, count: 500, seed: 3).count == records.count)
        let text = DatasetOperations.reviewText(try DatasetFixtures.constrained())
        #expect(text.contains("constraint: change_case:english_capital"))
        #expect(text.contains("expected: "))
    }

    @Test func statsCountWhatIsInTheFile() throws {
        let records = try DatasetFixtures.bundled() + DatasetFixtures.multiTurn()
        let stats = DatasetStats(records)
        #expect(stats.records == records.count)
        #expect(stats.multiTurn == 10)
        #expect(stats.withConstraints == records.filter(\.hasConstraints).count)
        #expect(stats.turnCounts["3"] == records.count - 10)
        let constraintTotal = records.flatMap(\.turns).compactMap(\.constraints).map(\.count).reduce(0, +)
        #expect(stats.constraintIDs.values.reduce(0, +) == constraintTotal)
        #expect(stats.distribution.byDomain.values.reduce(0, +) == records.count)
        #expect(stats.rendered().contains("records: \(records.count) (10 multi-turn"))
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        // Published SplitMix64 outputs for seed 1234567 (the xoshiro authors' reference code).
        var generator = SplitMix64(seed: 1_234_567)
        #expect([generator.next(), generator.next(), generator.next()]
                == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
    }
}
