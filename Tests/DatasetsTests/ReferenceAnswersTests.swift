import Foundation
import IFEval
import Testing
@testable import Datasets

/// The bundled constraints do what they are for: with the IFEval checkers, a hand-written
/// answer for each version of a record passes every constraint of its own cluster and fails its
/// other cluster's, so both versions of a turn-3 answer are scored mechanically, no judge.
@Suite struct ReferenceAnswersTests {
    struct Answers {
        let id: String
        let first: String
        let second: String
    }

    static func records() throws -> [String: ConflictRecord] {
        let all = try DatasetFixtures.bundled() + DatasetFixtures.multiTurn()
        return Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    }

    static func follows(_ answer: String, _ constraints: [InstructionConstraint]) throws -> Bool {
        try constraints.allSatisfy { try InstructionChecker($0).check(answer) }
    }

    @Test(arguments: ReferenceAnswers.all) func eachVersionPassesItsOwnClusterOnly(_ answers: Answers) throws {
        let record = try #require(try Self.records()[answers.id])
        let sides = record.groundTruthClusters.map(record.constraints(forCluster:))
        #expect(sides.allSatisfy { !$0.isEmpty })
        #expect(try Self.follows(answers.first, sides[0]), "\(answers.id): the first version breaks its own constraints")
        #expect(try Self.follows(answers.second, sides[1]), "\(answers.id): the second version breaks its own constraints")
        #expect(try !Self.follows(answers.first, sides[1]), "\(answers.id): the first version also meets the second cluster")
        #expect(try !Self.follows(answers.second, sides[0]), "\(answers.id): the second version also meets the first cluster")
    }
}

enum ReferenceAnswers {
    typealias Answers = ReferenceAnswersTests.Answers

    static let all: [Answers] = [
        Answers(id: "conflict_003", first: """
            Thank you for reporting this. The logout you see when your phone moves between Wi-Fi and mobile data \
            is a known issue in version 4.2, caused by the session token being tied to the network address. \
            Version 4.3, released this week, fixes it. Please update the app from your store, sign in once more, \
            and the session will persist across networks.

            Best regards, Support Team
            """, second: """
            Oh no, that sounds so annoying! Good news though: it's a bug we already squashed. Grab the latest update \
            from the app store, log in one more time, and you can hop between Wi-Fi and mobile data as much as you \
            like without getting kicked out.

            Cheers, Sam!
            """),
        Answers(id: "conflict_009", first: """
            To rotate the payment API key: create a new key in the dashboard, store it in the secrets manager, \
            redeploy the service, confirm a test charge succeeds, then revoke the old key.
            """, second: """
            Rotating the API keys of the payment service replaces the secret the service uses to authenticate with \
            the payment provider, without interrupting live traffic. Rotate keys every ninety days, immediately \
            after anyone with access leaves the team, and whenever a key may have been exposed in logs or chat.

            Prerequisites: you need the Payments Admin role in the provider dashboard, write access to the \
            production secrets manager, and permission to trigger a deployment of the payment service. Schedule \
            the rotation outside peak hours and tell the on-call engineer before you start.

            Step one: in the provider dashboard, open Developers, then API keys, and create a new restricted key \
            with the same permissions as the current one. Copy it once; the dashboard will not show it again. \
            Step two: store the new key in the secrets manager under the existing name, as a new version, so the \
            old version stays available for rollback. Step three: redeploy the payment service, which reads the \
            latest secret version at startup. Step four: verify the new key works by running the smoke test, \
            which makes a one-cent test charge and refunds it, and by checking the dashboard for requests signed \
            with the new key. Step five: once traffic has used only the new key for an hour, revoke the old key.

            If the smoke test fails, roll back by pinning the previous secret version and redeploying.
            """),
        Answers(id: "conflict_025", first: """
            Smaller classes appear to raise achievement, especially in the early grades. In the Tennessee STAR \
            experiment, pupils randomly assigned to classes of 13 to 17 outperformed peers in classes of 22 to 25 \
            (Krueger, 1999), and the advantage persisted into later schooling (Chetty et al., 2011). Effects are \
            larger for disadvantaged pupils (Finn & Achilles, 1999).

            References
            Chetty, R., et al. (2011). How does your kindergarten classroom affect your earnings? QJE.
            Finn, J. D., & Achilles, C. M. (1999). Tennessee's class size study. EEPA.
            Krueger, A. B. (1999). Experimental estimates of education production functions. QJE.
            """, second: """
            Smaller classes seem to help children learn, especially in their first years of school. When pupils \
            were randomly placed in classes of about fifteen instead of about twenty-five, they did better on tests, \
            and the head start lasted for years. Children from poorer families gained the most, which makes class \
            size one of the few school policies with a clear, lasting payoff.
            """),
        Answers(id: "conflict_034", first: """
            {"visit": "follow-up", "blood_pressure": "128/82", "medication": {"name": "lisinopril", "dose": "10 mg", \
            "change": "none"}, "next_visit": "in 3 months"}
            """, second: """
            Follow-up visit for hypertension. Blood pressure today was 128/82, within the target range. The patient \
            tolerates lisinopril 10 mg daily well, so the dose stays unchanged. We agreed on a follow-up visit in \
            three months, with home readings in the meantime. Reviewed with patient.
            """),
        Answers(id: "conflict_035", first: """
            * Militarism: the great powers built up armies and navies and made rigid plans for war.
            * Alliances: the Triple Entente and the Triple Alliance turned a local conflict into a continental one.
            * Imperialism: competition for colonies and markets bred rivalry and mistrust.
            * Nationalism: national pride and the demands of Slavic peoples destabilised the Balkans.
            * The assassination of Archduke Franz Ferdinand in Sarajevo in June 1914 was the spark.
            """, second: """
            The First World War grew out of long-standing tensions. The great powers had built up large armies and \
            navies, and their rival alliances, the Triple Entente and the Triple Alliance, meant that a quarrel \
            between two states could draw in all of Europe.

            Competition for colonies sharpened these rivalries, while nationalism, especially in the Balkans, kept \
            the region unstable. When Archduke Franz Ferdinand was assassinated in Sarajevo in June 1914, the \
            alliance system turned a regional crisis into a world war.
            """),
        Answers(id: "conflict_039", first: """
            Question: may our client end the office lease early because water damage affects the whole building?

            ***

            Short answer: probably yes, if the damage makes the premises unusable and the landlord fails to repair \
            within a reasonable time after notice.

            ***

            Analysis: the lease obliges the landlord to keep the structure in repair. Building-wide water damage \
            that prevents use of the premises may amount to constructive eviction, which allows termination, but \
            only after written notice and a reasonable opportunity to cure.

            ***

            Recommendation: send formal notice of the defects now, document the damage, and reserve the right to \
            terminate if repairs are not completed within thirty days.
            """, second: """
            Our client may well be able to end the lease early. The landlord must keep the building in repair, and \
            water damage that makes the premises unusable can amount to constructive eviction, which permits \
            termination. That right generally arises only after the landlord has had written notice and a \
            reasonable chance to repair, so we recommend sending formal notice now, documenting the damage, and \
            reserving the right to terminate if the repairs are not finished within thirty days.
            """),
        Answers(id: "conflict_041", first: """
            REMINDER: THE SHARED FRIDGE IS EMPTIED EVERY FRIDAY AT 5 P.M. ANYTHING STILL INSIDE AT THAT TIME WILL \
            BE THROWN AWAY, INCLUDING CONTAINERS. PLEASE TAKE YOUR FOOD HOME BEFORE YOU LEAVE FOR THE WEEKEND AND \
            LABEL EVERYTHING WITH YOUR NAME AND THE DATE.
            """, second: """
            friendly reminder: the office fridge has a standing date with the bin every friday at 5 p.m. that \
            heroic yogurt from three weeks ago will not survive it, and neither will anything else left inside. \
            rescue your lunch before the weekend, and maybe write your name on it so we know who to thank.
            """),
        Answers(id: "conflict_101", first: """
            big news, friends: our second café opens on elm street on june 3! same coffee, same pastries, \
            one more cozy corner. come say hi ☕
            """, second: """
            We are pleased to announce that our second café will open on Elm Street on June 3. The new location \
            brings the same carefully sourced coffee, freshly baked pastries and welcoming service that our guests \
            have enjoyed at our original café, now closer to the residential and business districts of the east \
            side. The café will offer seating for forty guests, a quiet area for remote work, and extended opening \
            hours on weekdays. This opening also creates twelve new positions in the neighbourhood, and we are \
            grateful to the local partners who made the project possible. We invite our community, our partners \
            and our colleagues to visit us during the opening week, when every coffee comes with a \
            complimentary pastry. We look forward to welcoming you.
            """),
    ]
}
