/// What the Punkt sentence splitter knows about English words.
///
/// NLTK's English model is trained on newspaper text; its abbreviation, sentence-starter and
/// collocation lists are short and reproduced here. Its orthographic table (20,000 words and the
/// cases they were seen in) is not shipped: `orthography` approximates it with two word lists,
/// which only matters after an abbreviation, an initial, an ellipsis or a number that ends in a
/// period (see the README's Scoring section for the measured agreement).
public struct PunktParameters: Sendable {
    public var abbreviations: Set<String>
    public var sentenceStarters: Set<String>
    public var collocations: Set<[String]>
    /// Orthographic-context flags per lowercased word type, as NLTK's `ortho_context`.
    public var orthography: @Sendable (String) -> Int

    public init(abbreviations: Set<String>, sentenceStarters: Set<String>, collocations: Set<[String]>,
                orthography: @escaping @Sendable (String) -> Int) {
        self.abbreviations = abbreviations
        self.sentenceStarters = sentenceStarters
        self.collocations = collocations
        self.orthography = orthography
    }

    static let begUC = 1 << 1, midUC = 1 << 2, unkUC = 1 << 3
    static let begLC = 1 << 4, midLC = 1 << 5, unkLC = 1 << 6
    static let upper = begUC | midUC | unkUC
    static let lower = begLC | midLC | unkLC

    public static let english = PunktParameters(
        abbreviations: Set(englishAbbreviations.split(separator: " ").map(String.init) + [". . "]),
        sentenceStarters: Set(englishStarters.split(separator: " ").map(String.init)),
        collocations: Set(englishCollocations.split(separator: " ").map { $0.split(separator: ":").map(String.init) }),
        orthography: { type in
            // Words seen lowercase and also capitalized mid-sentence (in names and titles),
            // words seen lowercase but capitalized only at a sentence start, and anything else
            // as a word the model never saw. The two lists are common words whose class was
            // read off NLTK's English model; they decide most cases a response meets.
            if functionWords.contains(type) { return upper | lower }
            if contentWords.contains(type) { return midLC | begUC }
            return 0
        })

    private static let englishAbbreviations = """
        a.a a.c a.d a.g a.h a.m a.m.e a.s a.t adm ala ariz aug ave b.f b.v bros c c.i.t c.o.m.b c.v \
        calif chg cie co col colo conn corp cos ct d d.c d.h d.w dec dr e e.f e.h e.l e.m f f.g f.j feb \
        fla fri ft g g.d g.f g.k ga gen h h.c h.f h.m i.m.s ill inc j.b j.c j.j j.k j.p j.r jan jr k kan \
        ky l l.a l.f l.p lt ltd m m.b.a m.d.c m.j maj messrs mg mich minn mr mrs ms n n.c n.d n.h n.j \
        n.m n.v n.y nev nov oct ok okla ore p p.a.m p.m pa ph.d prof r r.a r.h r.i r.j r.k r.t rep reps \
        s s.a s.a.y s.c s.g s.p.a s.s sen sep sept sr st sw t t.j tenn tues u.k u.n u.s u.s.a u.s.s.r v \
        va vs vt w w.c w.r w.va w.w wash wed wis yr
        """

    private static let englishStarters = """
        according although among both but despite even he however i if in indeed instead it many \
        meanwhile moreover most nevertheless nonetheless nor sales separately similarly since so some \
        the there these they this though thus under when while yet
        """

    private static let englishCollocations = """
        ##number##:abreast ##number##:aes ##number##:business ##number##:cbot ##number##:colgate \
        ##number##:commodities ##number##:cooper ##number##:corrections ##number##:credit \
        ##number##:dividend ##number##:financing ##number##:genentech ##number##:henley \
        ##number##:insider ##number##:international ##number##:leisure ##number##:letters \
        ##number##:notable ##number##:pay-fone ##number##:pegasus ##number##:pepper ##number##:review \
        ##number##:rj ##number##:wedgestone ##number##:who ##number##:zimmer b:edelman b:levine \
        b:smith b:stewart b:wigton i:magnin i:toussie j:aron j:fialka j:walter o:ludcke
        """

    private static let functionWords: Set<String> = Set("""
        a about across act add after again against air all also am among an and another answer any \
        are art as at avoid away b basically be because been before begins best blue books both \
        bring brown but buy by c can cane capital cases cat cats child children clear clearly close \
        code come comes company computer could count d daily data day days de did do dog don drop \
        during each eat en end ended every everyone everything expected family fantasy fast feel \
        fifth find fine first five food football for found four fourth fox friends from fuel future \
        generally get gets give go good got great had hard has have he help his history home hope \
        how if in is it its just keep know knows la land last late later leaves left let letter \
        life like line lines live look looks los love make man many may maybe mayor me meet meeting \
        met might minutes mixed models money month more most mostly move much must my name near \
        never new next nice nine no nobody not now obviously of off often on once one only open \
        option options or order other our outside over park part pay people perhaps place plan plus \
        point prices project quick quickly rare read real really reason red report request rest \
        rose rule rules run running s said salt say says school sea second see sharp she short \
        should show shows site six sleep some something sources spring staff stars start starts \
        state steps stop story strong students summer sure system take talk tell than that the \
        their then there these they thing third this those three time to today told too total two \
        under use usually visit want was water way we week well what when where while who whose why \
        will wind winter with woman won word work world would write wrote year you z
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    private static let contentWords: Set<String> = Set("""
        address afterwards always anyone anything apologized appear approach arrive arrived ask \
        asked authors autumn begin being believe besides beta better between birds bit body bold \
        bread brings broken call came cannot careful certainly check checked choose claim cold \
        colleague consider counted covers cries dark dash date deadline details detector didn die \
        discussions doctor does dogs double drink eight else empty ensure entire etc eventually \
        example except exercise eye fact feels felt final finally flowers foam fold follow followed \
        forbidden forget framed furthermore goes happen happy helps hence her here him honestly \
        hours idea important include indeed inside instead into intro isn joke jumps keeps knew \
        known laptop launched le leading learn least lets letters lot memo method milk mouse need \
        needed needs nor note nothing okay onto otherwise overall percent person play please \
        present probably problem process publish question questions quoted quotes ran regardless \
        regions remained remember remove replied response result results reviewed roses runs sadly \
        same saw section seem seems send sentence seven shorter signed simple single sit smile so \
        solution someone sometimes soon started step still such sunny tags team ten thank thanks \
        them therefore things think thought through tip tips title tomorrow took true try typically \
        understand unfortunately urgent us user valid vegetables version very violets wait walk \
        warm waves weather weeks went were which whole whom win wisely without words worried \
        wrapped writes written yes yesterday yet your
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
}
