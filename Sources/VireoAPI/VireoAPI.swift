/// Builds the registry of every endpoint Vireo serves.
public enum VireoAPI {
    public static func makeRegistry() -> APIRegistry {
        var registry = APIRegistry()
        NodeEndpoints.register(in: &registry)
        ClusterEndpoints.register(in: &registry)
        ClusterConfigEndpoints.register(in: &registry)
        AccessEndpoints.register(in: &registry)
        PoolEndpoints.register(in: &registry)
        StorageEndpoints.register(in: &registry)
        QEMUEndpoints.register(in: &registry)
        NetworkEndpoints.register(in: &registry)
        FirewallEndpoints.register(in: &registry)
        EventEndpoints.register(in: &registry)
        MetricsEndpoints.register(in: &registry)
        DiagnoseEndpoints.register(in: &registry)
        ConsoleEndpoints.register(in: &registry)
        ClusterEventsEndpoint.register(in: &registry)
        return registry
    }
}
