/// The privileges of Proxmox VE 9, and the built-in roles made of them.
public enum Privilege {
    /// Every privilege PVE 9 knows, sorted. Unknown names in `user.cfg` are dropped; the API rejects them.
    public static let all: [String] = (vm + sys + datastore + sdn + pool + mapping + access + ["Permissions.Modify"])
        .sorted()

    static let vmAudit = ["VM.Audit", "VM.GuestAgent.Audit"]
    static let vmUser = [
        "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.PowerMgmt",
        "VM.GuestAgent.FileRead", "VM.GuestAgent.FileWrite", "VM.GuestAgent.FileSystemMgmt",
    ]
    static let vmAdmin = [
        "VM.Allocate", "VM.Clone", "VM.Migrate", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
        "VM.Config.CPU", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network",
        "VM.Config.Options", "VM.GuestAgent.Unrestricted",
    ]
    static let vm = vmAudit + vmUser + vmAdmin

    static let sysAudit = ["Sys.Audit"]
    static let sysAdmin = ["Sys.Console", "Sys.Syslog"]
    static let sysRoot = ["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"]
    static let sys = sysAudit + sysAdmin + sysRoot

    static let datastoreAudit = ["Datastore.Audit"]
    static let datastoreUser = ["Datastore.AllocateSpace"]
    static let datastoreAdmin = ["Datastore.Allocate", "Datastore.AllocateTemplate"]
    static let datastore = datastoreAudit + datastoreUser + datastoreAdmin

    static let sdnAudit = ["SDN.Audit"]
    static let sdnUser = ["SDN.Use"]
    static let sdnAdmin = ["SDN.Allocate"]
    static let sdn = sdnAudit + sdnUser + sdnAdmin

    static let poolAudit = ["Pool.Audit"]
    static let poolAdmin = ["Pool.Allocate"]
    static let pool = poolAudit + poolAdmin

    static let mappingAudit = ["Mapping.Audit"]
    static let mappingUser = ["Mapping.Use"]
    static let mappingAdmin = ["Mapping.Modify"]
    static let mapping = mappingAudit + mappingUser + mappingAdmin

    static let accessAdmin = ["User.Modify", "Group.Allocate", "Realm.AllocateUser"]
    static let accessRoot = ["Realm.Allocate"]
    static let access = accessAdmin + accessRoot

    public static func isKnown(_ name: String) -> Bool { known.contains(name) }
    private static let known = Set(all)
}

/// The built-in roles (`special: 1`), immutable and never written to `user.cfg`.
public enum BuiltinRole {
    public static let roles: [String: Set<String>] = [
        "Administrator": Set(Privilege.all),
        "NoAccess": [],
        "PVEAdmin": Set(
            Privilege.vm + Privilege.sysAudit + Privilege.sysAdmin + Privilege.datastore + Privilege.sdn
                + Privilege.pool + Privilege.mappingAudit + Privilege.mappingUser + Privilege.accessAdmin
        ),
        "PVEAuditor": Set(
            Privilege.vmAudit + Privilege.sysAudit + Privilege.datastoreAudit + Privilege.sdnAudit
                + Privilege.poolAudit + Privilege.mappingAudit
        ),
        "PVEVMAdmin": Set(Privilege.vm),
        "PVEVMUser": Set(Privilege.vmAudit + Privilege.vmUser),
        "PVETemplateUser": ["VM.Audit", "VM.Clone"],
        "PVEDatastoreAdmin": Set(Privilege.datastore),
        "PVEDatastoreUser": Set(Privilege.datastoreAudit + Privilege.datastoreUser),
        "PVESysAdmin": Set(Privilege.sysAudit + Privilege.sysAdmin),
        "PVEUserAdmin": Set(Privilege.accessAdmin),
        "PVEPoolAdmin": Set(Privilege.pool),
        "PVEPoolUser": Set(Privilege.poolAudit),
        "PVESDNAdmin": Set(Privilege.sdn),
        "PVESDNUser": Set(Privilege.sdnAudit + Privilege.sdnUser),
        "PVEMappingAdmin": Set(Privilege.mapping),
        "PVEMappingUser": Set(Privilege.mappingAudit + Privilege.mappingUser),
    ]

    public static func isBuiltin(_ name: String) -> Bool { roles[name] != nil }
}
