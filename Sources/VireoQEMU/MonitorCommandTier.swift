/// Who may send a human-monitor command (`qm monitor`, `POST …/monitor`), by its first word, with
/// Proxmox's three tiers: reading (`info`, `help`) needs only the endpoint's own check; commands that
/// change the guest need `Sys.Modify` on `/`; commands that reach host files, processes, devices or
/// the network (`migrate`, `dump-guest-memory`, `drive_add`, …) are root@pam's. A command missing from
/// the table is root's: new QEMU commands are not granted by default.
public enum MonitorCommandTier: Sendable, Equatable {
    case read
    case modify
    case root

    /// The tier of a command line such as `  info  block` or `migrate "exec:…"`.
    public init(command: String) {
        self = Self.table[Self.word(of: command)] ?? .root
    }

    /// The command's first word, which decides its tier.
    public static func word(of command: String) -> String {
        String(command.split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }

    static let table: [String: MonitorCommandTier] = {
        var table: [String: MonitorCommandTier] = ["help": .read, "?": .read, "info": .read]
        let modify = """
            announce_self backup_cancel balloon block_job_cancel block_job_complete block_job_pause \
            block_job_resume block_job_set_speed block_resize block_set_io_throttle boot_set c calc_dirty_rate \
            cancel_vcpu_dirty_limit chardev-send-break closefd commit cont cpu delvm eject exit_preconfig \
            expire_password getfd gpa2hpa gpa2hva gva2gpa i loadvm log migrate_cancel migrate_continue \
            migrate_pause migrate_set_capability migrate_set_parameter migrate_start_postcopy mouse_button \
            mouse_move mouse_set one-insn-per-tb p print q qemu-io qom-get qom-list quit replay_break \
            replay_delete_break replay_seek ringbuf_read ringbuf_write s savevm sendkey set_link set_password \
            set_vcpu_dirty_limit snapshot_blkdev_internal snapshot_delete_blkdev_internal stop stopcapture sum \
            sync-profile system_powerdown system_reset system_wakeup trace-event x x_colo_lost_heartbeat xp
            """
        for word in modify.split(separator: " ") { table[String(word)] = .modify }
        // Everything else, e.g. migrate, dump-guest-memory, drive_add, device_add, screendump, memsave,
        // pmemsave, chardev-add, netdev_add, object_add, gdbserver, hostfwd_add, logfile: root only.
        return table
    }()
}
