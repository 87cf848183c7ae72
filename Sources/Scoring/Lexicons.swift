/// Word and phrase lists per style marker, matched on lowercased words (punctuation dropped).
/// Each list holds markers that a writer in that register uses and one in the opposite rarely does.
enum Lexicons {
    static let all: [String: [String]] = [
        "formal": words("""
            therefore furthermore moreover consequently regarding hereby herein pursuant accordingly \
            nevertheless notwithstanding sincerely respectfully kindly shall whereas thus hence \
            additionally subsequently request inform advise acknowledge appreciate|we_regret|please_find \
            |at_your_earliest_convenience|dear_sir|dear_madam|yours_faithfully|with_regards|best_regards
            """),
        "casual": words("""
            hey hi yeah yep nope gonna wanna gotta kinda sorta cool awesome stuff guys lol btw ok okay \
            totally super basically dude folks chill ya tbh omg wow huh yay|no_worries|no_biggie \
            |what's_up|catch_you|you_know|pretty_much|a_bunch
            """),
        "professional": words("""
            regarding deliverables stakeholders timeline objectives per attached ensure kindly \
            request review proposal schedule department management compliance policy client \
            team|please_find|please_let_me_know|best_regards|follow_up|going_forward|action_items \
            |as_discussed|at_your_convenience
            """),
        "friendly": words("""
            hi hey thanks glad happy love awesome great cheers excited fun buddy friend yay \
            wonderful|thanks_so_much|so_happy|can't_wait|hope_you're|have_a_great|take_care \
            |no_worries|feel_free
            """),
        "serious": words("""
            critical important serious risk severe significant essential must urgent consequences \
            careful caution warning crucial necessary priority responsibility grave concern
            """),
        "humorous": words("""
            haha lol funny joke joking hilarious pun laugh kidding lmao silly ridiculous \
            whimsical goofy|just_kidding|fun_fact|plot_twist|spoiler_alert|believe_it_or_not
            """),
        "empathetic": words("""
            understand sorry feel feeling frustrating frustrated difficult hard worried \
            overwhelming support care hear appreciate|i_understand|i'm_sorry|we're_here \
            |you're_not_alone|that_must|i_hear_you|it's_okay|must_be
            """),
        "objective": words("""
            data percent evidence according measured results statistics figure rate analysis \
            observed report indicates shows approximately average number total ratio
            """),
        "technical": words("""
            api latency throughput algorithm parameter parameters protocol asynchronous synchronous \
            implementation configuration architecture runtime compile compiler kernel cache \
            database query endpoint thread threads memory cpu gpu bandwidth schema interface \
            function method module instance binary byte bytes http tcp json encryption hash \
            optimization tensor vector matrix quantization inference
            """),
        "layperson": words("""
            simply basically imagine like think everyday easy simple picture kind \
            |in_other_words|think_of|it's_like|just_like|a_bit_like|you_can_think|put_simply \
            |in_plain|for_everyday
            """),
        "academic": words("""
            furthermore moreover thus hence whereas literature study studies research findings \
            hypothesis methodology empirical theoretical framework analysis significant \
            demonstrate demonstrates suggests evidence conclusion|et_al|this_paper|in_conclusion \
            |prior_work|it_is_argued|the_present
            """),
        "conversational": words("""
            so well you your i i'm you're let's okay right yeah honestly actually basically \
            pretty really|you_know|i_mean|let's_say|here's_the_thing|the_thing_is
            """),
        "opinion": words("""
            think believe feel opinion prefer recommend should best worst better favorite \
            love hate personally arguably|i_think|i_believe|in_my_opinion|in_my_view|i'd_say \
            |to_me|my_take|i_recommend
            """),
        "factual": words("""
            is are was were measured defined data percent according published documented \
            recorded established statistics
            """),
        "background": words("""
            history historically background originally context origins traditionally developed \
            introduced evolved century decades years|to_understand|it_is_helpful|before_we \
            |first_some|a_bit_of_background|in_the_past|dates_back
            """),
    ]

    /// Single words separated by spaces; multi-word phrases after `|`, their words joined by `_`.
    private static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "|" })
            .map { $0.replacingOccurrences(of: "_", with: " ") }
    }
}
