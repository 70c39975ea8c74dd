/// Captured JSON of `ceph df` and `rbd` (Ceph Reef).
enum RBDFixtures {
    /// `ceph -c /etc/pve/ceph.conf -n client.admin df --format json`: pool `rbd` stores 68 GiB with
    /// 884 GiB writable.
    static let df = """
        {"stats":{"total_bytes":3221225472000,"total_avail_bytes":3001830555648,"total_used_bytes":219394916352,\
        "total_used_raw_bytes":219394916352,"total_used_raw_ratio":0.06810876727104187,"num_osds":3,\
        "num_per_pool_osds":3,"num_per_pool_omap_osds":3},"stats_by_class":{"ssd":{"total_bytes":3221225472000,\
        "total_avail_bytes":3001830555648,"total_used_bytes":219394916352,"total_used_raw_bytes":219394916352,\
        "total_used_raw_ratio":0.06810876727104187}},"pools":[{"name":".mgr","id":1,"stats":{"stored":1704448,\
        "objects":2,"kb_used":4992,"bytes_used":5111808,"percent_used":1.7952403863886138e-06,\
        "max_avail":949187313664}},{"name":"rbd","id":2,"stats":{"stored":73014444032,"objects":17500,\
        "kb_used":213893120,"bytes_used":219026554880,"percent_used":0.071427,"max_avail":949187313664}},\
        {"name":"rbd-ec","id":3,"stats":{"stored":1073741824,"objects":256,"kb_used":1572864,\
        "bytes_used":1610612736,"percent_used":0.0005,"max_avail":536870912}}]}
        """

    /// `rbd -p rbd … ls -l --format json`: a template with its protected `__base__`, a disk with a
    /// snapshot, a linked clone of the template and a clone of the snapshot.
    static let list = """
        [{"image":"base-100-disk-0","id":"5e1f2c3a4b5d","size":34359738368,"format":2},\
        {"image":"base-100-disk-0","id":"5e1f2c3a4b5d","snapshot":"__base__","snapshot_id":4,"size":34359738368,\
        "format":2,"protected":"true"},\
        {"image":"vm-100-disk-1","id":"6a7b8c9d0e1f","size":8589934592,"format":2,"lock_type":"exclusive"},\
        {"image":"vm-100-disk-1","id":"6a7b8c9d0e1f","snapshot":"presnap","snapshot_id":7,"size":8589934592,\
        "format":2,"protected":"true"},\
        {"image":"vm-101-disk-0","id":"7b8c9d0e1f2a","size":34359738368,"parent":{"pool":"rbd",\
        "pool_namespace":"","image":"base-100-disk-0","snapshot":"__base__"},"format":2},\
        {"image":"vm-102-disk-0","id":"8c9d0e1f2a3b","size":8589934592,"parent":{"pool":"rbd",\
        "pool_namespace":"","image":"vm-100-disk-1","snapshot":"presnap"},"format":2},\
        {"image":"scratch","id":"9d0e1f2a3b4c","size":1073741824,"format":2}]
        """

    /// `rbd … snap ls --format json vm-100-disk-1`
    static let snapshots = """
        [{"id":7,"name":"presnap","size":8589934592,"protected":"true","timestamp":"Mon Nov 27 10:15:00 2023"},\
        {"id":9,"name":"later","size":8589934592,"protected":"false","timestamp":"Mon Nov 27 11:20:00 2023"}]
        """

    /// `rbd … info --format json base-100-disk-0/vm-101-disk-0`
    static let cloneInfo = """
        {"name":"vm-101-disk-0","id":"7b8c9d0e1f2a","size":34359738368,"objects":8192,"order":22,\
        "object_size":4194304,"snapshot_count":0,"block_name_prefix":"rbd_data.7b8c9d0e1f2a","format":2,\
        "features":["layering","exclusive-lock","object-map","fast-diff","deep-flatten"],"op_features":[],\
        "flags":[],"create_timestamp":"Mon Nov 27 10:20:00 2023","access_timestamp":"Mon Nov 27 10:20:00 2023",\
        "modify_timestamp":"Mon Nov 27 10:20:00 2023","parent":{"pool":"rbd","pool_namespace":"",\
        "image":"base-100-disk-0","id":"5e1f2c3a4b5d","snapshot":"__base__","trash":false,"overlap":34359738368}}
        """

    /// `rbd … info --format json vm-100-disk-1`, an old format-1 image.
    static let formatOneInfo = """
        {"name":"vm-100-disk-1","size":8589934592,"objects":2048,"order":22,"object_size":4194304,\
        "snapshot_count":1,"block_name_prefix":"rb.0.1234.5678","format":1}
        """

    /// `rbd … du --format json vm-101-disk-0`
    static let du = """
        {"images":[{"name":"vm-101-disk-0","id":"7b8c9d0e1f2a","provisioned_size":34359738368,\
        "used_size":2147483648}],"total_provisioned_size":34359738368,"total_used_size":2147483648}
        """
}
