import Foundation

/// The `process_*` families every Prometheus client library exports (resident and virtual
/// memory, CPU seconds, open and maximum file descriptors, start time), read from /proc at
/// scrape time, and `controlplane_build_info`.
enum ProcessMetrics {
    static let version = "1.4.0"
    /// Touched when the application is set up (`Application.init`).
    static let startedAt = Date().timeIntervalSince1970

    static func render(into out: inout String) {
        out += "# HELP controlplane_build_info The running build (always 1).\n# TYPE controlplane_build_info gauge\n"
        out += "controlplane_build_info{version=\"\(version)\"} 1\n"
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        // Fields after "(comm)": state is field 3, so index i here is field i + 3 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ").map(String.init)
        func field(_ number: Int) -> Double? { fields.indices.contains(number - 3) ? Double(fields[number - 3]) : nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK))), pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let user = field(14), let system = field(15) {
            out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\n"
            out += "process_cpu_seconds_total \((user + system) / ticks)\n"
        }
        if let virtual = field(23), let resident = field(24) {
            out += "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\n"
            out += "process_virtual_memory_bytes \(Int(virtual))\n"
            out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n"
            out += "process_resident_memory_bytes \(Int(resident * pageSize))\n"
        }
        // From the kernel's start tick when /proc/stat is readable (ProcSubset=pid hides it),
        // else from when the application was set up.
        let start = field(22).flatMap { started in bootTimeSeconds().map { Double($0) + started / ticks } } ?? startedAt
        out += "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
        out += "process_start_time_seconds \(start)\n"
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            out += "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\n"
            out += "process_open_fds \(open.count)\n"
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            out += "# HELP process_max_fds Maximum number of open file descriptors.\n# TYPE process_max_fds gauge\n"
            out += "process_max_fds \(limit.rlim_cur)\n"
        }
    }

    private static func bootTimeSeconds() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Int($0.dropFirst(6)) }
    }
}
