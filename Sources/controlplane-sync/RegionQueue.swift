import ControlPlaneCore
import Foundation
import Postgres
import Synchronization

/// The regions of one registry-sweep run, handed out one at a time to its workers.
final class RegionQueue: Sendable {
    private let regions: [RegionStore.SweepTarget]
    private let index = Atomic<Int>(0)

    init(_ regions: [RegionStore.SweepTarget]) { self.regions = regions }

    func next() -> RegionStore.SweepTarget? {
        let taken = index.wrappingAdd(1, ordering: .relaxed).oldValue
        return taken < regions.count ? regions[taken] : nil
    }
}
