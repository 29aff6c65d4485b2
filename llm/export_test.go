package llm

// Compilations returns how many graphs the model has compiled so far: one
// per graph kind and bucketed shape. Only tests count compilations.
func (m *Model) Compilations() int { return int(m.compiles.Load()) }
