import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

/// The cloud-init data generated from a VM's `ci*`, `ipconfigN`, `nameserver` and `searchdomain`
/// keys, as a Proxmox node generates it.
@Suite struct CloudInitTests {
    static let vmid: VMID = 100
    static let passwordHash = "$5$rounds=5000$Hq2Xq7kP$3b0Yf8cJfC3QfHkV0u9m1Cz6pC3n0dZ2wq4l5o6p7r8"
    /// Two keys as the API stores them: URL-encoded, one per line.
    static let sshkeys =
        "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIGq2%2BXr7Hc0dGm9J2xZk8d7bS3xq%2Fq1qk4u2w5e8r9t0%20alice%40laptop"
        + "%0Assh-rsa%20AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA%20bob%40desk%0A"
    static let hostDNS = (search: ["corp.example"], nameservers: ["192.0.2.53", "192.0.2.54"])

    static func config(
        _ changes: KeyValuePairs<String, String> = [:],
        without: [String] = []
    ) throws
        -> VMConfig.Section
    {
        var section = try VMConfig.Section([
            "name": "web.example.com",
            "ostype": "l26",
            "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0",
            "ide2": "local:100/vm-100-cloudinit.qcow2,media=cdrom",
            "ipconfig0": "ip=10.1.2.3/24,gw=10.1.2.1",
            "ciuser": "admin",
            "cipassword": passwordHash,
            "sshkeys": sshkeys,
            "nameserver": "10.1.2.53 1.1.1.1",
        ])
        for (key, value) in changes { try section.set(key, value) }
        for key in without { section.remove(key) }
        return section
    }

    static func generate(_ config: VMConfig.Section, custom: [String: String] = [:]) throws -> CloudInit {
        try CloudInit(vmid: vmid, config: config, hostDNS: hostDNS, custom: custom)
    }

    static let userData = """
        #cloud-config
        hostname: web
        manage_etc_hosts: true
        fqdn: web.example.com
        user: admin
        password: \(passwordHash)
        ssh_authorized_keys:
          - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq2+Xr7Hc0dGm9J2xZk8d7bS3xq/q1qk4u2w5e8r9t0 alice@laptop
          - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA bob@desk
        chpasswd:
          expire: False
        users:
          - default
        package_upgrade: true

        """

    static let networkConfig = """
        version: 1
        config:
            - type: physical
              name: eth0
              mac_address: 'bc:24:11:aa:bb:cc'
              subnets:
              - type: static
                address: '10.1.2.3'
                netmask: '255.255.255.0'
                gateway: '10.1.2.1'
            - type: nameserver
              address:
              - '10.1.2.53'
              - '1.1.1.1'
              search:
              - 'corp.example'

        """

    @Test func aLinuxGuestGetsNoCloudData() throws {
        let data = try Self.generate(try Self.config())
        #expect(data.format == .nocloud)
        #expect(data.label == "cidata")
        #expect(data.userData == Self.userData)
        #expect(data.networkConfig == Self.networkConfig)
        #expect(data.metaData == "instance-id: \(ConfigDigest.sha1Hex(Self.userData + Self.networkConfig))\n")
        #expect(data.vendorData == "")
        #expect(data.files.map(\.path) == ["user-data", "network-config", "meta-data", "vendor-data"])
        #expect(data.files.map(\.content) == [data.userData, data.networkConfig, data.metaData, ""])
    }

    @Test func theInstanceIDChangesWithTheData() throws {
        let before = try Self.generate(try Self.config())
        let after = try Self.generate(try Self.config(["ipconfig0": "ip=10.1.2.4/24,gw=10.1.2.1"]))
        #expect(before.metaData != after.metaData)
        #expect(try Self.generate(try Self.config()) == before)
    }

    @Test func ciupgradeOffDropsThePackageUpgrade() throws {
        let data = try Self.generate(try Self.config(["ciupgrade": "0"]))
        #expect(!data.userData.contains("package_upgrade"))
        #expect(data.userData.hasSuffix("users:\n  - default\n"))
        #expect(try Self.generate(try Self.config(["ciupgrade": "1"])).userData.hasSuffix("package_upgrade: true\n"))
    }

    @Test func rootAsTheUserKeepsRootLoginAndAddsNoDefaultUser() throws {
        let data = try Self.generate(try Self.config(["ciuser": "root"], without: ["sshkeys", "cipassword"]))
        #expect(
            data.userData == """
                #cloud-config
                hostname: web
                manage_etc_hosts: true
                fqdn: web.example.com
                user: root
                disable_root: False
                chpasswd:
                  expire: False
                package_upgrade: true

                """
        )
    }

    @Test func aWindowsGuestGetsAConfigDriveWithAnInterfacesFile() throws {
        let data = try Self.generate(try Self.config(["ostype": "win11"]))
        #expect(data.format == .configdrive2)
        #expect(data.label == "config-2")
        #expect(data.userData == Self.userData)
        #expect(
            data.networkConfig == """
                auto lo
                iface lo inet loopback

                        dns_nameservers 10.1.2.53 1.1.1.1
                        dns_search corp.example
                auto eth0
                iface eth0 inet static
                        address 10.1.2.3
                        netmask 255.255.255.0
                        gateway 10.1.2.1

                """
        )
        let uuid = ConfigDigest.sha1Hex(data.userData + data.networkConfig)
        #expect(
            data.metaData
                == "{\n     \"uuid\": \"\(uuid)\",\n     \"network_config\": { \"content_path\": \"/content/0000\" }\n}\n"
        )
        #expect(
            data.files.map(\.path) == [
                "openstack/latest/user_data", "openstack/content/0000", "openstack/latest/meta_data.json",
                "openstack/latest/vendor_data.json",
            ]
        )
        // citype overrides the guest type either way.
        #expect(try Self.generate(try Self.config(["ostype": "win11", "citype": "nocloud"])).format == .nocloud)
        #expect(try Self.generate(try Self.config(["citype": "configdrive2"])).format == .configdrive2)
    }

    @Test func theHostsDNSIsUsedWhenTheVMHasNone() throws {
        let data = try Self.generate(try Self.config(without: ["nameserver", "searchdomain"]))
        #expect(
            data.networkConfig.hasSuffix(
                """
                    - type: nameserver
                      address:
                      - '192.0.2.53'
                      - '192.0.2.54'
                      search:
                      - 'corp.example'

                """
            )
        )
        // The VM's own search domains replace the host's.
        let own = try Self.generate(try Self.config(["searchdomain": "a.example b.example"]))
        #expect(own.networkConfig.hasSuffix("      search:\n      - 'a.example'\n      - 'b.example'\n"))
    }

    @Test func dhcpAndIPv6Subnets() throws {
        let data = try Self.generate(
            try Self.config([
                "ipconfig0": "ip=dhcp,ip6=auto",
                "net1": "e1000=BC:24:11:00:00:02,bridge=vmbr1",
                "ipconfig1": "ip6=2001:db8::10/64,gw6=2001:db8::1",
            ])
        )
        #expect(
            data.networkConfig.hasPrefix(
                """
                version: 1
                config:
                    - type: physical
                      name: eth0
                      mac_address: 'bc:24:11:aa:bb:cc'
                      subnets:
                      - type: dhcp4
                      - type: ipv6_slaac
                    - type: physical
                      name: eth1
                      mac_address: 'bc:24:11:00:00:02'
                      subnets:
                      - type: static6
                        address: '2001:db8::10/64'
                        gateway: '2001:db8::1'
                    - type: nameserver

                """
            )
        )
    }

    @Test func anIPConfigForAMissingNICIsSkipped() throws {
        let data = try Self.generate(try Self.config(["ipconfig3": "ip=10.9.9.9/16"]))
        #expect(data.networkConfig == Self.networkConfig)
    }

    @Test func customSnippetsReplaceTheGeneratedFiles() throws {
        let user = "#cloud-config\npackages:\n  - qemu-guest-agent\n"
        let data = try Self.generate(try Self.config(), custom: ["user": user, "vendor": "#cloud-config\n"])
        #expect(data.userData == user)
        #expect(data.networkConfig == Self.networkConfig)
        #expect(data.vendorData == "#cloud-config\n")
        #expect(data.metaData == "instance-id: \(ConfigDigest.sha1Hex(user + Self.networkConfig))\n")
        let meta = try Self.generate(try Self.config(), custom: ["meta": "instance-id: fixed\n"])
        #expect(meta.metaData == "instance-id: fixed\n")
    }

    @Test func aNICWithoutAMACIsRefused() throws {
        let error = #expect(throws: VireoError.self) {
            try Self.generate(try Self.config(["net0": "virtio,bridge=vmbr0"]))
        }
        #expect(error?.message == "network interface 'net0' has no mac address")
    }

    @Test func anAddressWithoutAPrefixIsRefused() throws {
        let error = #expect(throws: VireoError.self) {
            try Self.generate(try Self.config(["ipconfig0": "ip=10.0.0.1"]))
        }
        #expect(error?.parameterErrors == ["ipconfig0": "not a CIDR: 10.0.0.1"])
        let v6 = #expect(throws: VireoError.self) {
            try Self.generate(try Self.config(["ipconfig0": "ip6=2001:db8::1"]))
        }
        #expect(v6?.parameterErrors == ["ipconfig0": "not a CIDR: 2001:db8::1"])
    }

    @Test func openNebulaIsNotSupported() throws {
        let error = #expect(throws: VireoError.self) {
            try Self.generate(try Self.config(["citype": "opennebula"]))
        }
        #expect(error?.parameterErrors == ["citype": "cloud-init type 'opennebula' is not supported by Vireo"])
    }

    @Test func anEmptySearchListWritesNoSearchKey() throws {
        // Proxmox writes `search:` only with domains under it; a bare key is a YAML null, which
        // cloud-init takes for one search domain "None".
        let data = try CloudInit(
            vmid: Self.vmid,
            config: try Self.config(),
            hostDNS: (search: [], nameservers: [])
        )
        #expect(data.networkConfig.contains("      - '1.1.1.1'\n"))
        #expect(!data.networkConfig.contains("search:"))
    }

    @Test(arguments: [
        ("cicustom", true), ("cipassword", true), ("citype", true), ("ciuser", true), ("ciupgrade", true),
        ("nameserver", true), ("searchdomain", true), ("sshkeys", true), ("ipconfig0", true), ("ipconfig31", true),
        ("ipconfig", false), ("ipconfigx", false), ("net0", false), ("name", false), ("ide2", false),
    ])
    func optionKeys(key: String, isOption: Bool) {
        #expect(CloudInit.isOptionKey(key) == isOption)
    }
}
