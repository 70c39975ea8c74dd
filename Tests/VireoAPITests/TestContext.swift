import Hummingbird

typealias TestContext = BasicRequestContext
