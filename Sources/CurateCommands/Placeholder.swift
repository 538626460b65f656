import CurateCore
