/// Captured `zfs` output (`-H -p`: tab-separated, exact numbers, `-` where a property does not apply).
enum ZFSFixtures {
    /// `zfs get -o value -Hp available,used rpool/data`: 90 GiB free, 40 GiB used.
    static let space = "96636764160\n42949672960\n"

    /// `zfs get -o value -Hp available,used rpool/data` on a nearly full pool: 512 MiB free.
    static let fullSpace = "536870912\n137438953472\n"

    /// `zfs list -o name,volsize,origin,type,refquota -t volume,filesystem -d1 -Hp rpool/data`
    static let list = """
        rpool/data\t-\t-\tfilesystem\t0
        rpool/data/base-100-disk-0\t34359738368\t-\tvolume\t-
        rpool/data/basevol-103-disk-0\t-\t-\tfilesystem\t4294967296
        rpool/data/subvol-102-disk-0\t-\t-\tfilesystem\t8589934592
        rpool/data/vm-100-disk-1\t34359738368\t-\tvolume\t-
        rpool/data/vm-101-disk-0\t34359738368\trpool/data/base-100-disk-0@__base__\tvolume\t-
        rpool/data/images\t-\t-\tfilesystem\t0

        """

    /// `zfs list -o name,volsize,origin,type,refquota,used,creation -Hp rpool/data/vm-101-disk-0`
    static let cloneInfo =
        "rpool/data/vm-101-disk-0\t34359738368\trpool/data/base-100-disk-0@__base__\tvolume\t-\t1253376\t1700000300\n"

    /// `zfs list -H -t snapshot -o name -s creation -d 1 rpool/data/vm-100-disk-1`, oldest first.
    static let snapshots = """
        rpool/data/vm-100-disk-1@first
        rpool/data/vm-100-disk-1@before_upgrade
        rpool/data/vm-100-disk-1@latest

        """

    static let missingDataset = "cannot open 'rpool/data/vm-100-disk-9': dataset does not exist\n"
}
