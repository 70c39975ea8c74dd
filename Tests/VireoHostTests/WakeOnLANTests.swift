import Testing
import VireoCore

@testable import VireoHost

/// A node's `wakeonlan` setting and the magic packet sent for it.
@Suite struct WakeOnLANTests {
    @Test func aBareMACUsesTheLimitedBroadcastOnNoParticularInterface() throws {
        let setting = try WakeOnLAN.Setting(parsing: "bc:24:11:0a:1b:2c")
        #expect(setting.mac == "BC:24:11:0A:1B:2C")
        #expect(setting.bindInterface == nil)
        #expect(setting.broadcastAddress == "255.255.255.255")
        #expect(try WakeOnLAN.Setting(parsing: "mac=bc:24:11:0a:1b:2c") == setting)
    }

    @Test func theInterfaceAndTheBroadcastAddressMayBeGiven() throws {
        let setting = try WakeOnLAN.Setting(
            parsing: "mac=BC:24:11:0A:1B:2C,bind-interface=enp3s0,broadcast-address=192.168.10.255"
        )
        #expect(setting.mac == "BC:24:11:0A:1B:2C")
        #expect(setting.bindInterface == "enp3s0")
        #expect(setting.broadcastAddress == "192.168.10.255")
    }

    @Test(arguments: [
        ("bc:24:11:0a:1b", "invalid MAC address in 'bc:24:11:0a:1b'"),
        ("bc-24-11-0a-1b-2c", "invalid MAC address in 'bc-24-11-0a-1b-2c'"),
        ("bc:24:11:0a:1b:zz", "invalid MAC address in 'bc:24:11:0a:1b:zz'"),
        ("bind-interface=eth0", "invalid MAC address in 'bind-interface=eth0'"),
        ("bc:24:11:0a:1b:2c,broadcast-address=192.168.10.256", "invalid broadcast address '192.168.10.256'"),
        ("bc:24:11:0a:1b:2c,broadcast-address=ff02::1", "invalid broadcast address 'ff02::1'"),
        ("bc:24:11:0a:1b:2c,port=9", "unknown property 'port'"),
        ("bc:24:11:0a:1b:2c,bind-interface=eth0;reboot", "invalid interface name 'eth0;reboot'"),
    ])
    func badSettingsAreRefusedNamingTheParameter(text: String, reason: String) {
        let error = #expect(throws: VireoError.self) { try WakeOnLAN.Setting(parsing: text) }
        #expect(error?.parameterErrors == ["wakeonlan": reason])
    }

    @Test func theMagicPacketIsSixFFBytesThenTheMACSixteenTimes() {
        let packet = WakeOnLAN.magicPacket(mac: "BC:24:11:0A:1B:2C")
        #expect(packet.count == 102)
        #expect(packet.prefix(6) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let mac: [UInt8] = [0xBC, 0x24, 0x11, 0x0A, 0x1B, 0x2C]
        for repetition in 0..<16 {
            let start = 6 + repetition * 6
            #expect(Array(packet[start..<start + 6]) == mac, "repetition \(repetition)")
        }
    }
}
