public enum Signing {}
