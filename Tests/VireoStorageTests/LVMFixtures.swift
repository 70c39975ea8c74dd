/// Captured LVM reports, as `vgs`/`lvs` print them with
/// `--separator : --noheadings --units b --unbuffered --nosuffix` (and `report/time_format="%s"`).
enum LVMFixtures {
    /// `vgs -o vg_name,vg_size,vg_free,lv_count`
    static let vgs = """
          pve:499570671616:16903045120:7
          vmdata:107369988096:96632569856:5

        """

    /// `lvs -o vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,`
    /// `metadata_size,time vmdata`
    /// — a thick VG: two disks of VM 100, a leftover base name, a RAID disk, an unrelated LV.
    static let thickLVs = """
          vmdata:vm-100-disk-0:34359738368:-wi-ao----:::::Zs1Wc3-0kXJ-Qx8T-kdV4-2m1n-Pp0Q-a1B2c3:pve-vm-100::1700000000
          vmdata:base-100-disk-1:4294967296:-wi-------:::::r7Yh2k-Lm3n-4Op5-Qr6s-T7u8-V9w0-x1Y2z3:pve-vm-100::1700000050
          vmdata:vm-100-disk-2:8589934592:-wi-------:::::H8jK9l-M0n1-O2p3-Q4r5-S6t7-U8v9-w0X1y2:pve-vm-100::1700000100
          vmdata:vm-101-disk-0:4294967296:rwi-a-r---:::::B3cD4e-F5g6-H7i8-J9k0-L1m2-N3o4-p5Q6r7:pve-vm-101::1700000200
          vmdata:backup:1073741824:-wi-a-----:::::C4dE5f-G6h7-I8j9-K0l1-M2n3-O4p5-q6R7s8:::1690000000

        """

    /// `lvs … pve` — the default install: root and swap, the thin pool `data` (12.5 % full), thin disks,
    /// a template, a linked clone and a snapshot of VM 100's first disk.
    static let thinLVs = """
          pve:data:141696991232:twi-aotz--::12.50:1.97::kL3mN4-o5P6-q7R8-s9T0-u1V2-w3X4-y5Z6a7::1459617792:1690000000
          pve:root:101468602368:-wi-ao----:::::aB1cD2-e3F4-g5H6-i7J8-k9L0-m1N2-o3P4q5:::1690000000
          pve:swap:8589934592:-wi-ao----:::::bC2dE3-f4G5-h6I7-j8K9-l0M1-n2O3-p4Q5r6:::1690000000
          pve:vm-100-disk-0:34359738368:Vwi-aotz--:data:25.00:::cD3eF4-g5H6-i7J8-k9L0-m1N2-o3P4-q5R6s7:::1700000000
          pve:base-100-disk-1:10737418240:Vri---tz-k:data:10.00:::dE4fG5-h6I7-j8K9-l0M1-n2O3-p4Q5-r6S7t8:::1700000100
          pve:snap_vm-100-disk-0_before_upgrade:34359738368:Vri---tz-k:data:24.00:::eF5gH6-i7J8-k9L0-m1N2-o3P4-q5R6-s7T8u9:::1700000200
          pve:vm-101-disk-0:10737418240:Vwi-a-tz--:data:10.50:::fG6hI7-j8K9-l0M1-n2O3-p4Q5-r6S7-t8U9v0:::1700000300

        """

    /// `lvs … pve` with a nearly full pool: 141696991232 bytes, 99.00 % used.
    static let fullThinPool = """
          pve:data:141696991232:twi-aotz--::99.00:4.80::kL3mN4-o5P6-q7R8-s9T0-u1V2-w3X4-y5Z6a7::1459617792:1690000000

        """
}
