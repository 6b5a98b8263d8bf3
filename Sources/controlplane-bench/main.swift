import ControlPlaneCore
import Foundation

/// `controlplane-bench classifier DOMAINS_FILE…`: email classifications per second on one
/// thread over a mixed corpus, with the dictionary built from the given lists
/// (`kind<TAB>domain` lines or plain domains, counted as free).
func classifierBenchmark(files: [String]) {
    var domains: [(String, DomainKind)] = []
    for file in files {
        let kind: DomainKind = file.contains("disposable") ? .disposable : .free
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where !line.isEmpty && !line.hasPrefix("#") {
            domains.append((String(line), kind))
        }
    }
    if domains.isEmpty { domains = (0..<15_000).map { ("d\($0).example.com", $0 % 3 == 0 ? .disposable : .free) } }
    let table = DomainTable(domains)
    var corpus: [String] = []
    for i in 0..<2000 {
        switch i % 10 {
        case 0, 1, 2: corpus.append("user\(i).name+tag@company\(i % 97).com")
        case 3, 4: corpus.append("someone\(i)@\(domains[i % domains.count].0)")
        case 5: corpus.append("ops@mail.sub\(i).\(domains[(i * 7) % domains.count].0)")
        case 6: corpus.append("First.Last\(i)@Corp-\(i).CO.KR.")
        case 7: corpus.append("bad address \(i)@nowhere")
        case 8: corpus.append("a\(i)@bücher-\(i % 5).de")
        default: corpus.append("x\(i)@[10.0.0.\(i % 255)]")
        }
    }
    var checksum = 0
    for address in corpus { checksum &+= EmailClassifier.classify(address, table: table).classification.rawValue.count }  // warm-up
    let rounds = 500
    let started = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<rounds {
        for address in corpus { checksum &+= EmailClassifier.classify(address, table: table).classification.rawValue.count }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    let checks = Double(rounds * corpus.count)
    print(String(format: "classifier\t%.0f\tchecks/s\t(%d domains, %d checks, checksum %d)", checks / seconds, table.count, Int(checks), checksum))
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "classifier": classifierBenchmark(files: Array(arguments.dropFirst()))
default:
    FileHandle.standardError.write(Data("usage: controlplane-bench classifier [DOMAIN_LIST…]\n".utf8))
    exit(64)
}
