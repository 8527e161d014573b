"""What an app is made of: the vocabulary that specs, projects and the generator share."""
