import Foundation
public import VireoCore

/// LVM volume groups, LVM thin pools and ZFS pools on the node's disks (`/nodes/{node}/disks/…`).
extension NodeHost {
    func volumeTool(_ name: String, _ arguments: [String], package: String) async throws -> String {
        try await runTool(name, arguments, package: package)
    }

    static func rows(_ text: String, separator: Character = ":") -> [[String]] {
        text.split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces).split(separator: separator, omittingEmptySubsequences: false)
                .map(String.init)
        }.filter { !$0.isEmpty && !($0.count == 1 && $0[0].isEmpty) }
    }

    // MARK: LVM

    /// The volume groups with their physical volumes, as a tree (`{leaf, children}`).
    public func volumeGroups() async throws -> JSON {
        let columns = ["--noheadings", "--units", "b", "--nosuffix", "--separator", ":"]
        let groups = try await volumeTool("vgs", columns + ["-o", "vg_name,vg_size,vg_free,lv_count"], package: "lvm2")
        let volumes = try await volumeTool("pvs", columns + ["-o", "pv_name,pv_size,pv_free,vg_name"], package: "lvm2")
        return Self.volumeGroupTree(groups: groups, physicalVolumes: volumes)
    }

    static func volumeGroupTree(groups: String, physicalVolumes: String) -> JSON {
        let pvs = rows(physicalVolumes).filter { $0.count == 4 }
        let children = rows(groups).filter { $0.count == 4 }.map { vg -> JSON in
            let members = pvs.filter { $0[3] == vg[0] }.map { pv -> JSON in
                ["leaf": 1, "name": .string(pv[0]), "size": .int(Int(pv[1]) ?? 0), "free": .int(Int(pv[2]) ?? 0)]
            }
            return [
                "leaf": 0, "name": .string(vg[0]), "size": .int(Int(vg[1]) ?? 0), "free": .int(Int(vg[2]) ?? 0),
                "lvcount": .int(Int(vg[3]) ?? 0), "children": .array(members),
            ]
        }
        return ["leaf": 0, "children": .array(children)]
    }

    public func createVolumeGroup(_ name: String, on device: String) async throws {
        _ = try await volumeTool("pvcreate", ["--yes", device], package: "lvm2")
        _ = try await volumeTool("vgcreate", [name, device], package: "lvm2")
    }

    /// Removes volume group `name`; returns its physical volumes.
    public func removeVolumeGroup(_ name: String) async throws -> [String] {
        let volumes = try await volumeTool(
            "pvs",
            ["--noheadings", "--separator", ":", "-o", "pv_name,vg_name"],
            package: "lvm2"
        )
        _ = try await volumeTool("vgremove", ["--yes", name], package: "lvm2")
        return Self.rows(volumes).filter { $0.count == 2 && $0[1] == name }.map { $0[0] }
    }

    // MARK: LVM thin

    public func thinPools() async throws -> [JSON] {
        let output = try await volumeTool(
            "lvs",
            [
                "--noheadings", "--units", "b", "--nosuffix", "--separator", ":", "-o",
                "lv_name,vg_name,lv_size,data_percent,lv_metadata_size,metadata_percent,segtype",
            ],
            package: "lvm2"
        )
        return Self.thinPoolRows(output)
    }

    static func thinPoolRows(_ text: String) -> [JSON] {
        rows(text).filter { $0.count == 7 && $0[6] == "thin-pool" }.map { row in
            let size = Int(row[2]) ?? 0
            let metadata = Int(row[4]) ?? 0
            func used(_ percent: String, of total: Int) -> Int {
                Int((Double(percent.replacingOccurrences(of: ",", with: ".")) ?? 0) / 100 * Double(total))
            }
            return [
                "lv": .string(row[0]), "vg": .string(row[1]), "lv_size": .int(size),
                "used": .int(used(row[3], of: size)),
                "metadata_size": .int(metadata), "metadata_used": .int(used(row[5], of: metadata)),
            ]
        }
    }

    public func createThinPool(_ name: String, on device: String) async throws {
        try await createVolumeGroup(name, on: device)
        _ = try await volumeTool(
            "lvcreate",
            ["--yes", "--type", "thin-pool", "--extents", "99%FREE", "--name", name, name],
            package: "lvm2"
        )
    }

    public func removeThinPool(_ name: String, volumeGroup: String) async throws {
        _ = try await volumeTool("lvremove", ["--yes", "\(volumeGroup)/\(name)"], package: "lvm2")
    }

    // MARK: ZFS

    public func zfsPools() async throws -> [JSON] {
        let output = try await volumeTool(
            "zpool",
            ["list", "-H", "-p", "-o", "name,size,free,alloc,frag,dedupratio,health"],
            package: "zfsutils-linux"
        )
        return Self.rows(output, separator: "\t").filter { $0.count == 7 }.map { row in
            [
                "name": .string(row[0]), "size": .int(Int(row[1]) ?? 0), "free": .int(Int(row[2]) ?? 0),
                "alloc": .int(Int(row[3]) ?? 0), "frag": .int(Int(row[4].replacingOccurrences(of: "%", with: "")) ?? 0),
                "dedup": .double(Double(row[5].replacingOccurrences(of: "x", with: "")) ?? 1),
                "health": .string(row[6]),
            ]
        }
    }

    public func zfsPoolStatus(_ name: String) async throws -> JSON {
        let output = try await volumeTool("zpool", ["status", "-P", name], package: "zfsutils-linux")
        var fields: [String: JSON] = ["name": .string(name), "children": []]
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            for key in ["state", "status", "action", "scan", "errors"] where text.hasPrefix(key + ":") {
                fields[key] = .string(text.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces))
            }
        }
        return .object(fields)
    }

    public func createZFSPool(
        _ name: String,
        raidLevel: String,
        devices: [String],
        ashift: Int,
        compression: String
    ) async throws {
        let layout = raidLevel == "single" ? [] : raidLevel == "raid10" ? [] : [raidLevel]
        var vdevs = devices
        if raidLevel == "raid10" {
            vdevs = stride(from: 0, to: devices.count - 1, by: 2).flatMap { ["mirror", devices[$0], devices[$0 + 1]] }
        }
        _ = try await volumeTool(
            "zpool",
            ["create", "-o", "ashift=\(ashift)", "-O", "compression=\(compression)", name] + layout + vdevs,
            package: "zfsutils-linux"
        )
    }

    public func destroyZFSPool(_ name: String) async throws {
        _ = try await volumeTool("zpool", ["destroy", name], package: "zfsutils-linux")
    }
}
