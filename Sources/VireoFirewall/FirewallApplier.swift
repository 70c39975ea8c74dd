import Foundation
import NFTables
import VireoCore

/// Puts compiled rulesets into the kernel: one atomic `nft -j -f` transaction per change, and
/// none when nothing changed. Only Vireo's tables are ever read or written.
///
/// The last ruleset it loaded is kept, so a change touches only the chains and sets that differ
/// (a one-rule edit does not reload a 100,000-entry ipset). When nothing is known (daemon start),
/// the kernel is read: the fingerprint rule in chain `state` and the rule count of every chain must
/// match the compiled ruleset, else the tables are replaced whole.
public actor FirewallApplier {
    /// Runs `nft` with arguments and standard input in the node's namespace; returns stdout.
    public typealias NFT = @Sendable (_ arguments: [String], _ input: [UInt8]) async throws -> String
    /// Makes sure bridged IP traffic reaches the inet hooks (br_netfilter's sysctls).
    public typealias BridgeNetfilter = @Sendable () async throws -> Void

    public enum Outcome: Sendable, Equatable {
        /// The kernel already had it: nothing was written.
        case unchanged
        /// One transaction of this many commands was loaded.
        case applied(commands: Int)
        /// The firewall is off and Vireo's tables were removed.
        case removed
    }

    static let stateChain = "state"

    private let nft: NFT
    private let bridgeNetfilter: BridgeNetfilter
    /// What Vireo loaded last (without the state chain); nil when not known.
    private var loaded: NFTRuleset?
    private var loadedIndex: NFTRuleset.Index?
    /// A digest of every chain and set of `loaded`, for the fingerprint.
    private var digests: [String: String] = [:]

    /// Receives the phases' times of each apply (for a debug log).
    private let timing: @Sendable ([String: String]) -> Void

    public init(
        nft: @escaping NFT,
        bridgeNetfilter: @escaping BridgeNetfilter,
        timing: @escaping @Sendable ([String: String]) -> Void = { _ in }
    ) {
        self.nft = nft
        self.bridgeNetfilter = bridgeNetfilter
        self.timing = timing
    }

    /// Loads `compilation`. When nft refuses it, the old ruleset stays in force and the error
    /// names the user's rule nft refused.
    @discardableResult
    public func apply(_ compilation: FirewallCompilation) async throws -> Outcome {
        let ruleset = compilation.ruleset
        let clock = ContinuousClock()
        let started = clock.now
        let index = ruleset.index()
        var timings: [String: String] = [:]
        defer {
            timings["total"] = "\(clock.now - started)"
            timing(timings)
        }
        timings["index"] = "\(clock.now - started)"
        var transaction: NFTTransaction
        var newDigests: [String: String]
        if let loaded {
            transaction = ruleset.changes(from: loaded, oldIndex: loadedIndex, newIndex: index)
            timings["diff"] = "\(clock.now - started)"
            guard !transaction.isEmpty else {
                self.loaded = ruleset
                loadedIndex = index
                return .unchanged
            }
            newDigests = Self.digests(
                of: ruleset,
                index: index,
                reusing: digests,
                unless: Self.touched(by: transaction)
            )
        } else {
            let kernel = try await kernelRuleset()
            newDigests = Self.digests(of: ruleset, index: index, reusing: [:], unless: nil)
            if kernel.tables.isEmpty && ruleset.tables.isEmpty
                || (Self.fingerprint(of: kernel) == Self.fingerprint(newDigests)
                    && Self.ruleCounts(kernel) == Self.ruleCounts(ruleset))
            {
                loaded = ruleset
                loadedIndex = index
                digests = newDigests
                return .unchanged
            }
            // Unknown content: our tables are replaced whole (added first, so deleting cannot
            // fail whatever the kernel has).
            let present = kernel.tables.map { NFTTable(family: $0.family, name: $0.name) }
            let all = ruleset.tables + present.filter { !ruleset.tables.contains($0) }
            transaction = NFTTransaction(all.flatMap { [.addTable($0), .deleteTable($0)] })
            transaction.commands += ruleset.changes(from: NFTRuleset(), newIndex: index).commands
        }
        if let inet = ruleset.tables.first(where: { $0.family == .inet }) {
            let state = NFTChain(family: .inet, table: inet.name, name: Self.stateChain)
            let tableIsNew = transaction.commands.contains(.addTable(inet))
            transaction.commands.append(tableIsNew ? .addChain(state) : .flushChain(state))
            transaction.commands.append(
                .addRule(
                    NFTRule(
                        family: .inet,
                        table: inet.name,
                        chain: Self.stateChain,
                        statements: [.return],
                        comment: Self.fingerprint(newDigests)
                    )
                )
            )
        }
        // br_netfilter's switches, set when the guests' table is made (once per table, not per change).
        if transaction.commands.contains(where: {
            if case .addTable(let table) = $0 { table.family == .bridge } else { false }
        }) {
            try await bridgeNetfilter()
        }
        timings["prepared"] = "\(clock.now - started)"
        do {
            _ = try await nft(["-j", "-f", "-"], try transaction.jsonBytes())
        } catch {
            // What is loaded is no longer known for sure: read the kernel next time.
            loaded = nil
            throw await explain(error, ruleset: ruleset)
        }
        loaded = ruleset
        loadedIndex = index
        digests = newDigests
        return ruleset.tables.isEmpty ? .removed : .applied(commands: transaction.commands.count)
    }

    /// Compares the kernel with what was loaded (fingerprint and rules per chain); when they
    /// differ (someone edited Vireo's tables), forgets what was loaded so the next apply replaces
    /// the tables. Returns whether they differed.
    @discardableResult
    public func verify() async throws -> Bool {
        guard let loaded else { return false }
        let kernel = try await kernelRuleset()
        let matches =
            loaded.tables.isEmpty
            ? kernel.tables.isEmpty
            : Self.fingerprint(of: kernel) == Self.fingerprint(digests)
                && Self.ruleCounts(kernel) == Self.ruleCounts(loaded)
        if !matches {
            self.loaded = nil
            loadedIndex = nil
        }
        return !matches
    }

    /// Packet and byte counters per user rule id (`guest/100/rules/3`), summed over the nft rules
    /// it compiled to.
    public func counters() async throws -> [String: (packets: Int, bytes: Int)] {
        let listed = try await kernelRuleset()
        var result: [String: (packets: Int, bytes: Int)] = [:]
        for rule in listed.rules {
            guard let comment = rule.comment, let counter = rule.counter else { continue }
            let sum = result[comment] ?? (0, 0)
            result[comment] = (sum.packets + counter.packets, sum.bytes + counter.bytes)
        }
        return result
    }

    /// Vireo's tables as the kernel has them, without set elements (`-t`: quick with big sets).
    private func kernelRuleset() async throws -> NFTRuleset {
        let output = try await nft(["-j", "-t", "list", "ruleset"], [])
        let ruleset = try NFTRuleset(parsingListOutput: Array(output.utf8))
        let ours = Set(FirewallCompiler.tables.map { "\($0.family.rawValue) \($0.name)" })
        return ruleset.filtered { ours.contains("\($0.family.rawValue) \($0.name)") }
    }

    // MARK: - Fingerprint

    /// The chains and sets a transaction writes (their digests must be computed anew).
    static func touched(by transaction: NFTTransaction) -> Set<String> {
        var keys = Set<String>()
        for command in transaction.commands {
            switch command {
            case .addChain(let chain), .flushChain(let chain):
                keys.insert("chain \(chain.family.rawValue) \(chain.name)")
            case .addSet(let set), .flushSet(let set), .addElements(let set):
                keys.insert("set \(set.family.rawValue) \(set.name)")
            case .addRule(let rule): keys.insert("chain \(rule.family.rawValue) \(rule.chain)")
            default: break
            }
        }
        return keys
    }

    /// A SHA-256 of each chain (hook and rules) and each set (declaration and elements). Digests
    /// of objects not in `changed` are taken from `previous`.
    static func digests(
        of ruleset: NFTRuleset,
        index: NFTRuleset.Index,
        reusing previous: [String: String],
        unless changed: Set<String>?
    ) -> [String: String] {
        var result: [String: String] = [:]
        for chain in ruleset.chains {
            let key = "chain \(chain.family.rawValue) \(chain.name)"
            if let changed, !changed.contains(key), let known = previous[key] {
                result[key] = known
                continue
            }
            let part = NFTRuleset(chains: [chain], rules: index.rules(of: chain))
            result[key] = ConfigDigest.sha256Hex((try? part.changes(from: NFTRuleset()).jsonBytes()) ?? [])
        }
        for set in ruleset.sets {
            let key = "set \(set.family.rawValue) \(set.name)"
            if let changed, !changed.contains(key), let known = previous[key] {
                result[key] = known
                continue
            }
            result[key] = ConfigDigest.sha256Hex((try? NFTTransaction([.addSet(set)]).jsonBytes()) ?? [])
        }
        return result
    }

    /// The comment of the state rule: a digest over every object's digest.
    static func fingerprint(_ digests: [String: String]) -> String {
        let lines = digests.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        return "vireo " + String(ConfigDigest.sha256Hex(Array(lines.utf8)).prefix(40))
    }

    static func fingerprint(of kernel: NFTRuleset) -> String? {
        kernel.rules.first { $0.chain == stateChain && $0.family == .inet }?.comment
    }

    /// Rules per chain (the state chain aside): a cheap check that nobody edited the tables.
    static func ruleCounts(_ ruleset: NFTRuleset) -> [String: Int] {
        var counts: [String: Int] = [:]
        for chain in ruleset.chains where chain.name != stateChain {
            counts["\(chain.family.rawValue) \(chain.name)"] = 0
        }
        for rule in ruleset.rules where rule.chain != stateChain {
            counts["\(rule.family.rawValue) \(rule.chain)", default: 0] += 1
        }
        return counts
    }

    // MARK: - Errors

    /// nft's JSON errors do not say which command failed. Find the first rule nft refuses by
    /// checking (`nft -c`, nothing applied) ever longer prefixes, and name the user's rule.
    private func explain(_ error: any Error, ruleset: NFTRuleset) async -> VireoError {
        let reason = (error as? VireoError)?.message ?? "\(error)"
        let base = NFTRuleset(tables: ruleset.tables, chains: ruleset.chains, sets: ruleset.sets)
        let empty = NFTRuleset()
        func loads(_ count: Int) async -> Bool {
            var candidate = base
            candidate.rules = Array(ruleset.rules.prefix(count))
            guard let bytes = try? candidate.changes(from: empty).jsonBytes() else { return false }
            return (try? await nft(["-c", "-j", "-f", "-"], bytes)) != nil
        }
        guard await loads(0) else {
            return VireoError(.internalError, "firewall: nft refused Vireo's tables, chains or sets: \(reason)").at(
                .firewall
            )
        }
        var good = 0
        var bad = ruleset.rules.count
        guard !(await loads(bad)) else {
            return VireoError(.internalError, "firewall: nft refused the ruleset: \(reason)").at(.firewall)
        }
        while bad - good > 1 {
            let middle = (good + bad) / 2
            if await loads(middle) { good = middle } else { bad = middle }
        }
        let rule = ruleset.rules[bad - 1]
        let name = rule.comment.map { "rule \($0)" } ?? "built-in rule in chain \(rule.chain)"
        return VireoError(.invalidArgument, "firewall: nft refused \(name): \(reason)")
    }
}
